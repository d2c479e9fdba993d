// One network: its name (editable, saved on Save), its rule, and Forget (its name and rule go; the
// one the machine is on is then seen anew). The current network is addressed as 'current' (the
// one the machine is on, as the helper knows it); others by their key.
import { useId, useState, type FormEvent } from 'react';
import type { KnownNetwork, NetworkRule, Params, UmbraError } from '../../api.js';
import { useActions } from '../../store/context.js';
import { ErrorNote } from '../../ui/ErrorNote.js';
import { RuleChoice } from './RuleChoice.js';

interface NetworkEditorProps {
  network: KnownNetwork;
  /** This is the network the machine is on. */
  current: boolean;
}

export function NetworkEditor({ network, current }: NetworkEditorProps) {
  const { setNetwork } = useActions();
  const [name, setName] = useState(network.name);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UmbraError | undefined>(undefined);
  const id = useId();
  const which = current ? 'this network' : network.name;

  const send = async (change: Omit<Params<'setNetwork'>, 'key'>) => {
    setBusy(true);
    setError(await setNetwork({ key: current ? 'current' : network.key, ...change }));
    setBusy(false);
  };
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const trimmed = name.trim();
    if (trimmed === '') return setError({ code: 'empty', message: 'a network needs a name (up to 100 characters)' });
    if (trimmed !== network.name) void send({ name: trimmed });
  };

  return (
    <div className="network-editor">
      <form className="network-name" onSubmit={onSubmit}>
        <label htmlFor={id}>{current ? 'Name of this network' : `Name of ${network.name}`}</label>
        <div className="inline-field">
          <input id={id} type="text" maxLength={100} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" spellCheck={false} />
          <button type="submit" className="secondary-button" aria-busy={busy || undefined} aria-label={current ? 'Save the name of this network' : `Save the name of ${network.name}`}>
            Save
          </button>
        </div>
        <span className="muted">{network.kind === 'wifi' ? 'Wi-Fi network' : 'Known by its router'}</span>
      </form>
      <RuleChoice legend={`Rule for ${which}`} rule={network.rule} busy={busy} onPick={(rule: NetworkRule) => rule !== network.rule && void send({ rule })} />
      <button type="button" className="secondary-button" aria-busy={busy || undefined} onClick={() => void send({ forget: true })}>
        {current ? 'Forget this network (start again with the rule for new networks)' : `Forget ${network.name}`}
      </button>
      <ErrorNote error={error} title="The network was not changed" onDismiss={() => setError(undefined)} />
    </div>
  );
}
