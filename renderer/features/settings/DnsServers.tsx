// The user's own DNS servers (Settings.dnsServers): used through the tunnel for every server in
// place of each config's DNS. Empty: each config's. The helper checks the addresses; its answer
// (or its error) is what the field then shows.
import { useId, useState, type FormEvent } from 'react';
import type { UmbraError } from '../../api.js';
import { useActions, useUmbra } from '../../store/context.js';
import { ErrorNote } from '../../ui/ErrorNote.js';

const listOf = (text: string): string[] => text.split(/[\s,]+/).map((w) => w.trim()).filter(Boolean);

export function DnsServers() {
  const current = useUmbra((s) => s.settings?.dnsServers ?? null);
  const { setDnsServers } = useActions();
  const [text, setText] = useState((current ?? []).join(', '));
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<UmbraError | undefined>(undefined);
  const id = useId();

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(null);
    const list = listOf(text);
    const refused = await setDnsServers(list.length > 0 ? list : null);
    setError(refused);
    if (!refused) setSaved(list.length > 0 ? `Using ${list.join(', ')} through the tunnel.` : 'Using each config’s own DNS.');
  };

  return (
    <section className="settings-section" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>DNS servers</h3>
      <p className="muted">
        Your own DNS servers, asked through the tunnel whichever server you connect to. Leave empty to use the DNS each config names. A change while connected
        reconnects.
      </p>
      <form onSubmit={(e) => void onSubmit(e)}>
        <label htmlFor={id}>DNS server addresses</label>
        <input id={id} type="text" inputMode="url" placeholder="e.g. 9.9.9.9, 2620:fe::fe" value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit">Save DNS servers</button>
      </form>
      {saved && (
        <p className="ok-note" role="status">
          {saved}
        </p>
      )}
      <ErrorNote error={error} title="The DNS servers were not changed" onDismiss={() => setError(undefined)} />
    </section>
  );
}
