// The user's own DNS servers (Settings.dnsServers): used through the tunnel for every server in
// place of each config's DNS. Empty: each config's. The helper checks the addresses; its answer
// (or its error) is what the field then shows.
import { useId, useState } from 'react';
import { useActions, useUmbra } from '../../store/context.js';
import { listOf, useFormSave } from './use-form-save.js';

export function DnsServers() {
  const current = useUmbra((s) => s.settings?.dnsServers ?? null);
  const { setDnsServers } = useActions();
  const [text, setText] = useState((current ?? []).join(', '));
  const { submit, outcome } = useFormSave('The DNS servers were not changed');
  const id = useId();

  const onSubmit = submit(async () => {
    const list = listOf(text);
    const refused = await setDnsServers(list.length > 0 ? list : null);
    return { refused, said: list.length > 0 ? `Using ${list.join(', ')} through the tunnel.` : 'Using each config’s own DNS.' };
  });

  return (
    <section className="settings-section" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>DNS servers</h3>
      <p className="muted">
        Your own DNS servers, asked through the tunnel whichever server you connect to. Leave empty to use the DNS each config names. A change while connected
        reconnects.
      </p>
      <form onSubmit={onSubmit}>
        <label htmlFor={id}>DNS server addresses</label>
        <input id={id} type="text" inputMode="url" placeholder="e.g. 9.9.9.9, 2620:fe::fe" value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit">Save DNS servers</button>
      </form>
      {outcome}
    </section>
  );
}
