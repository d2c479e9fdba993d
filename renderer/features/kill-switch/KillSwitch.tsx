// The kill switch as the helper reports it: on/off from its settings, "blocking" only when it
// says its rules are in the kernel (status.firewallActive).
import { useShallow } from 'zustand/react/shallow';
import { useActions, useUmbra } from '../../store/context.js';
import { ErrorNote } from '../../ui/ErrorNote.js';
import { Switch } from '../../ui/Switch.js';

export const BLOCKING_TEXT = 'Blocking traffic outside the tunnel';

export function KillSwitch() {
  const { on, busy, firewallActive, state, error } = useUmbra(
    useShallow((s) => ({
      on: s.settings?.killSwitch ?? false,
      busy: !!s.busy.settings.killSwitch,
      firewallActive: s.status?.firewallActive ?? false,
      state: s.status?.state ?? 'disconnected',
      error: s.errors.killSwitch,
    })),
  );
  const { setSetting, dismissError } = useActions();

  let description: string;
  let tone = 'muted';
  if (on && firewallActive) {
    description = BLOCKING_TEXT;
    tone = 'ok';
  } else if (on && (state === 'connected' || state === 'connecting')) {
    description = 'On, but the helper reports no firewall rules yet';
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
