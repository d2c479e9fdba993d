// The server view before there is any server: the ways to add one, with the import right here.
import { useId } from 'react';
import { ImportOutcome } from './ImportOutcome.js';
import { ImportPicker } from './ImportPicker.js';
import './import.css';

export function FirstRun() {
  const id = useId();
  return (
    <section className="first-run" aria-labelledby={id}>
      <h3 id={id}>Add your first server</h3>
      <ul className="first-run-ways">
        <li>Import the WireGuard .conf file your VPN provider gave you, or one from your own WireGuard server.</li>
        <li>Or drop that file, or a QR code image of it, anywhere on this window.</li>
        <li>Or load your provider’s catalog of servers in Settings.</li>
      </ul>
      <ImportPicker label="Import a .conf file or QR code image" />
      <ImportOutcome />
    </section>
  );
}
