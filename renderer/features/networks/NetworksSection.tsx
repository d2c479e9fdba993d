// Settings › Networks: trusted and untrusted networks. A switch turns them on (networks never seen
// are untrusted) or off; then the network the machine is on, its name and rule; the rule for
// networks never seen; and the other networks Umbra remembers. Everything shown is the helper's.
import { useId, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { NetworkRule, NetworkRules, UmbraError } from '../../api.js';
import { useActions, useUmbra } from '../../store/context.js';
import { ErrorNote } from '../../ui/ErrorNote.js';
import { Switch } from '../../ui/Switch.js';
import { NetworkEditor } from './NetworkEditor.js';
import { RuleChoice } from './RuleChoice.js';
import { currentNetwork } from './network-words.js';
import './networks.css';

const TURNED_ON: NetworkRules = { unseen: 'untrusted', known: [] };

export function NetworksSection() {
  const { loaded, rules, current } = useUmbra(
    useShallow((s) => ({ loaded: s.settings !== null, rules: s.settings?.networks ?? null, current: currentNetwork(s.status, s.settings) })),
  );
  const { setNetworkRules } = useActions();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UmbraError | undefined>(undefined);
  const id = useId();

  const save = async (next: NetworkRules | null) => {
    setBusy(true);
    setError(await setNetworkRules(next));
    setBusy(false);
  };
  const others = rules?.known.filter((n) => n.key !== current?.key) ?? [];

  return (
    <section className="settings-section networks" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Networks</h3>
      <Switch
        label="Network rules"
        checked={rules !== null}
        busy={busy}
        disabled={!loaded}
        description="Umbra recognises the network this computer is on (a Wi-Fi network by its name, any other by its router) and acts on the rule you give it."
        onChange={(on) => void save(on ? TURNED_ON : null)}
      />
      <ErrorNote error={error} title="The network rules did not change" onDismiss={() => setError(undefined)} />
      {rules && (
        <>
          <section className="network-group" aria-label="This network">
            <h4>This network</h4>
            {current ? (
              <NetworkEditor key={`${current.key}:${current.name}`} network={current} current />
            ) : (
              <p className="muted">Not identified yet: this computer is offline, or Umbra is still finding out which network it is on.</p>
            )}
            <p className="muted">A network is known by what it shows everyone (its Wi-Fi name and access point, its router&apos;s hardware address): someone on another network can pretend to be one you trust. Trust only networks where being unprotected would be acceptable; Ask and Trusted leave you unprotected until you connect.</p>
          </section>
          <section className="network-group" aria-label="Networks never seen">
            <RuleChoice legend="Rule for networks never seen" rule={rules.unseen} busy={busy} onPick={(unseen: NetworkRule) => void save({ ...rules, unseen })} />
            <p className="muted">Untrusted is the safe choice: a network seen for the first time is blocked until Umbra has connected over it.</p>
          </section>
          {others.length > 0 && (
            <section className="network-group" aria-label="Other networks">
              <h4>Other networks</h4>
              <ul className="network-list">
                {others.map((n) => (
                  <li key={n.key}>
                    <NetworkEditor key={`${n.key}:${n.name}`} network={n} current={false} />
                  </li>
                ))}
              </ul>
            </section>
          )}
        </>
      )}
    </section>
  );
}
