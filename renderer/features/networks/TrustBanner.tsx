// On a network whose rule is "ask": the question, answered by a rule for that network (by its key,
// so the answer is for the network asked about even if the machine has moved on since).
import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { NetworkRule, UmbraError } from '../../api.js';
import { useActions, useUmbra } from '../../store/context.js';
import { ErrorNote } from '../../ui/ErrorNote.js';
import { currentNetwork } from './network-words.js';
import './networks.css';

export function TrustBanner() {
  const network = useUmbra(useShallow((s) => currentNetwork(s.status, s.settings)));
  const { setNetwork } = useActions();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UmbraError | undefined>(undefined);
  if (!network || network.rule !== 'ask') return null;

  const answer = async (rule: NetworkRule) => {
    if (busy) return;
    setBusy(true);
    setError(await setNetwork({ key: network.key, rule }));
    setBusy(false);
  };
  return (
    <section className="blocked-banner trust-banner" aria-label="Trust this network?">
      <p>
        Is <strong>{network.name}</strong> a network you trust?
      </p>
      <p className="muted">Untrusted: Umbra connects here automatically, with the kill switch on. Trusted: Umbra leaves the connection to you.</p>
      <div className="trust-buttons">
        <button type="button" className="secondary-button" aria-busy={busy || undefined} onClick={() => void answer('trusted')}>
          Trust it
        </button>
        <button type="button" className="secondary-button" aria-busy={busy || undefined} onClick={() => void answer('untrusted')}>
          Don’t trust it
        </button>
      </div>
      <ErrorNote error={error} title="The network’s rule did not change" onDismiss={() => setError(undefined)} />
    </section>
  );
}
