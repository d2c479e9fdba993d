// The big button: "Connect" when disconnected, else "Disconnect" (in connecting, reconnecting
// and error the helper keeps trying, so the way out is to disconnect). Busy from the press until the helper
// reports the new state; its name stays exactly "Connect" or "Disconnect". Under it, before it is
// pressed, where Connect goes: the picked place, else the last one; with neither it asks for a pick
// (it never picks a server the user did not choose).
import { useId } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useActions, useUmbra } from '../../store/context.js';
import { offersConnect, targetServer } from '../../store/selectors.js';

export function ConnectButton() {
  const { status, busy, target } = useUmbra(useShallow((s) => ({ status: s.status, busy: s.busy, target: targetServer(s) })));
  const { connect, disconnect } = useActions();
  const hintId = useId();
  const isConnect = offersConnect(status);
  const pending = isConnect ? busy.connect : busy.disconnect || status?.state === 'disconnecting';
  const nowhere = isConnect && !target;
  const unavailable = pending || !status || nowhere;
  return (
    <>
      <button
        type="button"
        className={`connect-button ${isConnect ? 'is-connect' : 'is-disconnect'}${pending ? ' busy' : ''}`}
        aria-busy={pending || undefined}
        aria-disabled={unavailable || undefined}
        aria-describedby={isConnect ? hintId : undefined}
        onClick={() => {
          if (unavailable) return;
          void (isConnect ? connect() : disconnect());
        }}
      >
        {pending && <span className="spinner" aria-hidden="true" />}
        {isConnect ? 'Connect' : 'Disconnect'}
      </button>
      {isConnect && (
        <p id={hintId} className="connect-target muted">
          {target ? `to ${target.name}` : 'Pick a location on the map or in the list first'}
        </p>
      )}
    </>
  );
}
