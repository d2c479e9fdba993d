// The kill switch as the helper reports it: on/off from its settings, "blocking" only when it
// says a block is in the kernel (status.blocked; the guard alone, firewallActive, is no block).
import { useShallow } from 'zustand/react/shallow';
import { WANTS_TUNNEL } from '../../lib/format.js';
import { useActions, useUmbra } from '../../store/context.js';
import { ErrorNote } from '../../ui/ErrorNote.js';
import { Switch } from '../../ui/Switch.js';
import './kill-switch.css';

export const BLOCKING_TEXT = 'Blocking traffic outside the tunnel';

export function KillSwitch() {
  const { on, busy, blocked, wantedBlock, foreign, state, error } = useUmbra(
    useShallow((s) => ({
      on: s.settings?.killSwitch ?? false,
      busy: !!s.busy.settings.killSwitch,
      blocked: s.status?.blocked ?? false,
      wantedBlock: s.status?.firewall.wanted === 'block',
      foreign: s.status?.firewall.kernel === 'foreign',
      state: s.status?.state ?? 'disconnected',
      error: s.errors.killSwitch,
    })),
  );
  const { setSetting, dismissError } = useActions();

  let description: string;
  let tone = 'muted';
  if (on && blocked) {
    description = BLOCKING_TEXT;
    tone = 'ok';
  } else if (!blocked && ((on && WANTS_TUNNEL.has(state)) || wantedBlock)) {
    // DESIGN.md convention 7: a block that should be there and is not is said, never hidden.
    if (foreign) description = `${on ? 'On' : 'Off'}, but another program’s table holds Umbra’s place in the kernel: nothing is blocked`;
    else description = on ? 'On, but the helper reports no blocking rules in the kernel' : 'Off; the helper wants a block, but reports none in the kernel';
    tone = 'warn';
  } else if (blocked) {
    description = 'Off, but traffic is blocked for another reason (see above)';
    tone = 'warn';
  } else if (on) {
    description = 'Blocks traffic outside the tunnel whenever you connect';
  } else {
    description = 'Off: if the tunnel drops, traffic goes out unprotected';
  }

  return (
    <div className="kill-switch">
      <Switch label="Kill switch" checked={on} busy={busy} description={<span className={`tone-${tone}`}>{description}</span>} onChange={(v) => void setSetting('killSwitch', v)} />
      <ErrorNote error={error} title="The kill switch did not change" onDismiss={() => dismissError('killSwitch')} />
    </div>
  );
}
