// DNS for local network domains (Settings.lanDns): names under the domains go to the servers on
// the local network, outside the tunnel; every other name still through it. Both fields empty:
// off. The helper checks the values; its answer (or its error) is what the fields then show.
import { useId, useState } from 'react';
import { useActions, useUmbra } from '../../store/context.js';
import { listOf, useFormSave } from './use-form-save.js';

export function LanDns() {
  const current = useUmbra((s) => s.settings?.lanDns ?? null);
  const { setLanDns } = useActions();
  const [domains, setDomains] = useState((current?.domains ?? []).join(', '));
  const [servers, setServers] = useState((current?.servers ?? []).join(', '));
  const { submit, outcome } = useFormSave('The local network domains were not changed');
  const id = useId();

  const onSubmit = submit(async () => {
    const d = listOf(domains).map((x) => x.toLowerCase().replace(/\.$/, ''));
    const s = listOf(servers);
    const value = d.length > 0 || s.length > 0 ? { domains: d, servers: s } : null;
    const refused = await setLanDns(value);
    return { refused, said: value ? `Names under ${d.join(', ')} go to ${s.join(', ')} on your local network.` : 'Every name goes through the tunnel.' };
  });

  return (
    <section className="settings-section" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Local network domains</h3>
      <p className="muted">
        Off unless you fill this in. While connected, names under these domains (e.g. corp.example) are asked of these DNS servers on your local network,
        outside the tunnel; every other name still goes through it. Leave both empty to send every name through the tunnel.
      </p>
      <form onSubmit={onSubmit}>
        <label htmlFor={`${id}-d`}>Local domains</label>
        <input id={`${id}-d`} type="text" placeholder="e.g. corp.example" value={domains} onChange={(e) => setDomains(e.target.value)} />
        <label htmlFor={`${id}-s`}>Local DNS servers</label>
        <input id={`${id}-s`} type="text" inputMode="url" placeholder="e.g. 192.168.1.1" value={servers} onChange={(e) => setServers(e.target.value)} />
        <button type="submit">Save local network domains</button>
      </form>
      {outcome}
    </section>
  );
}
