// The big button: "Connect" when disconnected, else "Disconnect" (in connecting, reconnecting
// and error the helper keeps trying, so the way out is to disconnect). Busy from the press until the helper
// reports the new state; its name stays exactly "Connect" or "Disconnect".
import { useShallow } from 'zustand/react/shallow';
import { useActions, useUmbra } from '../../store/context.js';
import { offersConnect } from '../../store/selectors.js';

export function ConnectButton() {
  const { status, busy } = useUmbra(useShallow((s) => ({ status: s.status, busy: s.busy })));
  const { connect, disconnect } = useActions();
  const isConnect = offersConnect(status);
  const pending = isConnect ? busy.connect : busy.disconnect || status?.state === 'disconnecting';
  const unavailable = pending || !status;
  return (
    <button
      type="button"
      className={`connect-button ${isConnect ? 'is-connect' : 'is-disconnect'}${pending ? ' busy' : ''}`}
      aria-busy={pending || undefined}
      aria-disabled={unavailable || undefined}
      onClick={() => {
        if (unavailable) return;
        void (isConnect ? connect() : disconnect());
      }}
    >
      {pending && <span className="spinner" aria-hidden="true" />}
      {isConnect ? 'Connect' : 'Disconnect'}
    </button>
  );
}
