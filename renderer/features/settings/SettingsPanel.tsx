// Settings: the helper's switches (each shows the helper's value; busy while it changes), the
// main process's launch-at-login (only where there is one), split tunnelling (where the window's
// host offers it), importing a WireGuard config, and loading a catalog of servers.
import { useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useActions, useUmbra } from '../../store/context.js';
import type { SwitchSetting } from '../../store/store.js';
import { readText } from '../../lib/read-text.js';
import { ErrorNote } from '../../ui/ErrorNote.js';
import { Switch } from '../../ui/Switch.js';
import { ImportOutcome } from '../import/ImportOutcome.js';
import { ImportPicker } from '../import/ImportPicker.js';
import { DnsServers } from './DnsServers.js';
import { LanDns } from './LanDns.js';
import { NetworksSection } from '../networks/NetworksSection.js';
import { SplitTunnel } from './SplitTunnel.js';
import type { SplitTunnelPort } from './use-split-tunnel.js';
import './settings.css';

const SWITCHES: { key: SwitchSetting; label: string; description: ReactNode }[] = [
  {
    key: 'killSwitchOnBoot',
    label: 'Kill switch on boot',
    description: (
      <>
        Takes effect at the next boot, not now: from then on, no network at all from early boot until Umbra connects. The way out: connect,
        or turn this off (which lifts the block at once). If Umbra’s helper cannot start after a boot, <code>sudo nft delete table inet umbra</code>{' '}
        lifts the block by hand.
      </>
    ),
  },
  {
    key: 'lockdown',
    label: 'Lockdown',
    description: 'Always require the VPN: nothing leaves this computer outside the tunnel, even when you disconnect or quit Umbra, until you turn this off. Blocks from boot too.',
  },
  {
    key: 'allowLan',
    label: 'Allow LAN',
    description: 'While the kill switch blocks, still let this computer talk to devices on your local network (printers, file shares).',
  },
  {
    key: 'autoConnect',
    label: 'Auto-connect',
    description: 'Connect to the last server when the Umbra helper starts.',
  },
];

function ImportConfig() {
  const id = useId();
  return (
    <section className="settings-section" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Import a WireGuard config</h3>
      <p className="muted">
        The .conf file your VPN provider gave you, or one from your own WireGuard server; or a QR code image of one. You can also drop either anywhere on this window. Its private key stays
        with the Umbra helper.
      </p>
      <ImportPicker />
      <ImportOutcome />
    </section>
  );
}

function LoadCatalog() {
  const { busy, error, trust } = useUmbra(useShallow((s) => ({ busy: s.busy.catalog, error: s.errors.catalog, trust: s.catalogTrust })));
  const { loadCatalog, dismissError } = useActions();
  const [source, setSource] = useState('');
  const [signingKey, setSigningKey] = useState('');
  const [allowUnsigned, setAllowUnsigned] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const id = useId();

  const loaded = (n: number | undefined) => {
    if (n !== undefined) setDone(`Loaded the catalog: ${n} server${n === 1 ? '' : 's'}.`);
  };
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setDone(null);
    loaded(await loadCatalog(source, signingKey.trim() ? { signingKey } : { allowUnsigned }));
  };
  // The page reads the file the person chose and sends its text: the helper opens no path.
  const onPick = async (file: File | undefined) => {
    setDone(null);
    if (!file) return;
    let text: string;
    try {
      text = await readText(file);
    } catch {
      return;
    }
    loaded(await loadCatalog({ text }, signingKey.trim() ? { signingKey } : {}));
    if (fileRef.current) fileRef.current.value = '';
  };

  return (
    <section className="settings-section" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Load a catalog</h3>
      <p className="muted">
        A JSON list of servers from your provider: a file on this computer, or an https URL the helper fetches. Pin your
        provider’s signing key and the catalog must be signed by it; a catalog from a URL without one is loaded only if you
        accept it unsigned.
      </p>
      <label htmlFor={`${id}-key`}>Provider’s signing key (Ed25519, base64; optional)</label>
      <input
        id={`${id}-key`}
        type="text"
        value={signingKey}
        onChange={(e) => setSigningKey(e.target.value)}
        autoComplete="off"
        spellCheck={false}
        placeholder="44 characters, from your provider"
      />
      <label className="file-label" htmlFor={`${id}-file`}>
        Choose a catalog file
      </label>
      <input
        ref={fileRef}
        id={`${id}-file`}
        className="file-input"
        type="file"
        accept=".json,application/json"
        aria-busy={busy || undefined}
        disabled={busy}
        onChange={(e) => void onPick(e.target.files?.[0])}
      />
      <form className="catalog-form" onSubmit={(e) => void onSubmit(e)}>
        <label htmlFor={id}>Catalog URL</label>
        <div className="inline-field">
          <input
            id={id}
            type="text"
            inputMode="url"
            placeholder="https://…"
            value={source}
            onChange={(e) => setSource(e.target.value)}
            autoComplete="off"
            spellCheck={false}
          />
          <button type="submit" className="secondary-button" aria-busy={busy || undefined} aria-disabled={busy || undefined}>
            {busy ? 'Loading…' : 'Load'}
          </button>
        </div>
        <label className="check-label">
          <input
            type="checkbox"
            checked={allowUnsigned && !signingKey.trim()}
            disabled={!!signingKey.trim()}
            onChange={(e) => setAllowUnsigned(e.target.checked)}
          />{' '}
          Accept an unsigned catalog from this URL (anyone on the way could change it)
        </label>
      </form>
      {done && !busy && (
        <p className="ok-note" role="status">
          {done}
        </p>
      )}
      {done && !busy && trust && (
        <p className={trust.signed ? 'catalog-trust signed' : 'catalog-trust unsigned'} data-testid="catalog-trust">
          {trust.signed ? `Signed by ${trust.keyFingerprint ?? 'the key you pinned'}` : 'Unsigned'}
        </p>
      )}
      <ErrorNote error={error} title="The catalog was not loaded" onDismiss={() => dismissError('catalog')} />
    </section>
  );
}

function LaunchAtLogin({ offered }: { offered: boolean }) {
  const { value, busy, error } = useUmbra(useShallow((s) => ({ value: s.launchAtLogin, busy: s.busy.launchAtLogin, error: s.errors.launchAtLogin })));
  const { setLaunchAtLogin, dismissError } = useActions();
  if (!offered) return null;
  return (
    <>
      <Switch
        label="Launch at login"
        checked={value ?? false}
        busy={busy}
        disabled={value === null}
        description="Open Umbra (in the tray) when you log in."
        onChange={(v) => void setLaunchAtLogin(v)}
      />
      <ErrorNote error={error} onDismiss={() => dismissError('launchAtLogin')} />
    </>
  );
}

export function SettingsPanel({ launchAtLoginOffered, splitTunnel }: { launchAtLoginOffered: boolean; splitTunnel?: SplitTunnelPort | undefined }) {
  const { settings, busy, error } = useUmbra(useShallow((s) => ({ settings: s.settings, busy: s.busy.settings, error: s.errors.settings })));
  const { setSetting, dismissError } = useActions();
  return (
    <section className="settings" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <section className="settings-section" aria-label="Protection and startup">
        {SWITCHES.map((s) => (
          <Switch
            key={s.key}
            label={s.label}
            checked={settings?.[s.key] ?? false}
            busy={!!busy[s.key]}
            disabled={!settings}
            description={s.description}
            onChange={(v) => void setSetting(s.key, v)}
          />
        ))}
        <ErrorNote error={error} title="The setting did not change" onDismiss={() => dismissError('settings')} />
        <LaunchAtLogin offered={launchAtLoginOffered} />
      </section>
      <DnsServers />
      <LanDns />
      <NetworksSection />
      {splitTunnel && <SplitTunnel port={splitTunnel} />}
      <ImportConfig />
      <LoadCatalog />
    </section>
  );
}
