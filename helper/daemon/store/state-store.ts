// The helper's state store: settings, profiles (keys), servers and the desired connection state,
// each in its own JSON file in the state dir (default /var/lib/umbra, 0700; files 0600, written
// atomically). See files.ts for the formats and catalog.ts for catalogs.
//
// Secrets: private and preshared keys live in profiles.json / servers.json and in this object's
// memory only. servers()/server() return ServerInfo (public fields only), errors and log lines never
// carry key material, and tunnelConfig() is the one way a key leaves the store (for the tunnel).
//
// Decisions:
// - Writes are serialized (one at a time, in call order) and the in-memory state changes only
//   after its file is written, so memory never runs ahead of disk.
// - Importing the same [Interface] PrivateKey again updates that profile (addresses, DNS, MTU) and
//   makes it the newest; importing a peer with the same public key and endpoint as an imported
//   server updates that server and keeps its id.
// - Catalog servers use the profile that was newest when the catalog was loaded (kept in their
//   profileId). A catalog id already taken by an imported server gets a suffix (-2, ...).
// - A profile that no server uses any more is deleted (after removeServer, an import that moved
//   servers to another key, or a catalog reload).
// - Two-file changes write servers.json before deleting a profile and profiles.json before adding
//   servers, so a crash in between leaves at worst an unused profile, never a server without one.
// - Only Address, DNS and MTU of [Interface] are kept: ListenPort, FwMark and Table are Umbra's
//   own business (routing uses its own mark and table), shell hooks never run, and a peer without
//   an Endpoint is no server. The import leaves those out and says so, line by line (notes).
// - The store opens no file a caller names: catalogs and configs arrive as text.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, type ImportNote, parseWgQuickForImport, type PeerConfig, type WgQuickConfig } from '../../config/wg-quick.js';
import { formatPrefix, parsePrefix } from '../../net/ip.js';
import { parseKey } from '../../net/keys.js';
import { ErrorCode, MAX_CONFIG_BYTES, RpcError, Settings, type ServerInfo } from '../../ipc/schema.js';
import { toBase64 } from '../../wireguard/bytes.js';
import { removeStaleTempFiles, writeFileAtomic, type FsHooks } from './atomic-file.js';
import { parseCatalog } from './catalog.js';
import {
  DEFAULT_ALLOWED_IPS,
  Desired,
  describeIssues,
  PROFILES_FILE,
  ProfilesFile,
  type ProfileRecord,
  SERVERS_FILE,
  ServersFile,
  type ServerRecord,
  SETTINGS_FILE,
  SettingsFile,
  STATE_FILE,
  StateFile,
  toJson,
  type LoadContext,
  loadFile,
  withoutUndefined,
} from './files.js';
import { salvageSettings, settingsWithoutFile } from './settings-salvage.js';
import { slugify, uniqueId } from './ids.js';
import { formatEndpoint, parseEndpoint } from '../../net/endpoint.js';

export interface StateStoreOptions {
  /** Clock for timestamps (import order, corrupt-file names); Date.now by default. */
  now?: () => number;
  /** Test seams around file writes. */
  hooks?: FsHooks;
  /**
   * Whether the boot block's file is in the state dir: it is there exactly while the kill switch on
   * boot or lockdown is on, so it decides them when settings.json is missing or unreadable.
   */
  bootBlockSaved?: boolean;
}

const NO_PROFILE = "import your provider's WireGuard config first: it holds your key";
/** At most this many notes cross the socket; the last one then says how many more there were. */
export const MAX_IMPORT_NOTES = 50;

export interface ImportResult {
  /** The first server the config gave. */
  server: ServerInfo;
  /** The lines left out, and why, in line order. */
  notes: ImportNote[];
}

function capNotes(notes: ImportNote[]): ImportNote[] {
  if (notes.length <= MAX_IMPORT_NOTES) return notes;
  const rest = notes.length - (MAX_IMPORT_NOTES - 1);
  return [...notes.slice(0, MAX_IMPORT_NOTES - 1), { line: notes[MAX_IMPORT_NOTES - 1]!.line, key: '…', why: `and ${rest} more lines left out, from this line on` }];
}

/** The public part of a server record. */
function toInfo(r: ServerRecord): ServerInfo {
  return withoutUndefined<ServerInfo>({
    id: r.id,
    name: r.name,
    country: r.country,
    countryCode: r.countryCode,
    city: r.city,
    latitude: r.latitude,
    longitude: r.longitude,
    endpoint: r.endpoint,
    publicKey: r.publicKey,
    exitIp: r.exitIp,
    source: r.source,
  });
}

function sameKey(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class StateStore {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly log: (line: string) => void,
    private readonly now: () => number,
    private readonly hooks: FsHooks,
    private settingsValue: Settings,
    /** Keys of settings.json this version does not know (a newer version's), written back as found. */
    private readonly unknownSettings: Record<string, unknown>,
    private profiles: ProfileRecord[],
    private records: ServerRecord[],
    private desiredValue: Desired,
    /** Files that were unreadable when the store opened (set aside; defaults in their place). */
    readonly unreadableAtOpen: readonly string[] = [],
  ) {}

  /** Opens (creating it 0700 if needed) the state dir and reads its files; unreadable files are set aside (see files.ts). */
  static async open(stateDir: string, log: (line: string) => void, opts: StateStoreOptions = {}): Promise<StateStore> {
    const now = opts.now ?? Date.now;
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await chmod(stateDir, 0o700);
    const stale = await removeStaleTempFiles(stateDir);
    if (stale.length > 0) log(`removed ${stale.length} unfinished temporary file(s) from ${stateDir} (an earlier write was interrupted)`);
    for (const name of [SETTINGS_FILE, PROFILES_FILE, SERVERS_FILE, STATE_FILE]) {
      const st = await stat(join(stateDir, name)).catch(() => undefined);
      if (st && (st.mode & 0o777) !== 0o600) await chmod(join(stateDir, name), 0o600);
    }
    const ctx: LoadContext = { dir: stateDir, log, now, setAside: [] };
    const bootBlockSaved = opts.bootBlockSaved ?? false;
    const settingsFile = await loadFile(ctx, SETTINGS_FILE, SettingsFile, undefined, bootBlockSaved ? 'the boot block is saved, so the kill switch, the kill switch on boot and lockdown are on' : 'using defaults with the kill switch on');
    const unreadable = ctx.setAside.includes(SETTINGS_FILE);
    const { schemaVersion: _s, ...saved } = settingsFile ?? { schemaVersion: 1 };
    const { settings, unknown: unknownSettings, notes } = settingsFile ? salvageSettings(saved) : { settings: settingsWithoutFile({ unreadable, bootBlockSaved }), unknown: {}, notes: [] };
    for (const note of notes) log(`${SETTINGS_FILE}: ${note}`);
    const profiles = await loadFile(ctx, PROFILES_FILE, ProfilesFile, { schemaVersion: 1 as const, profiles: [] }, "starting without profiles; import your provider's WireGuard config again");
    const servers = await loadFile(ctx, SERVERS_FILE, ServersFile, { schemaVersion: 1 as const, servers: [] }, 'starting with no servers; import your configs or load your catalog again');
    const state = await loadFile(ctx, STATE_FILE, StateFile, { schemaVersion: 1 as const, wantConnected: false }, 'assuming you do not want to be connected');
    const { schemaVersion: _d, ...desired } = state;
    const store = new StateStore(stateDir, log, now, opts.hooks ?? {}, settings, unknownSettings, profiles.profiles, servers.servers, withoutUndefined(desired), ctx.setAside);
    // Settings chosen for safety are written down at once: the next start must not read a missing
    // file as "first start" once this start has (re)written the boot block from them.
    if (!settingsFile && (bootBlockSaved || unreadable)) await store.write(SETTINGS_FILE, settings);
    return store;
  }

  // ---------------------------------------------------------------- settings

  settings(): Settings {
    return { ...this.settingsValue };
  }

  /** Validates and saves a change of some settings; returns all of them. */
  updateSettings(p: Partial<Settings>): Promise<Settings> {
    return this.exclusive(async () => {
      const change = Settings.partial().strict().safeParse(p);
      if (!change.success) throw new RpcError(ErrorCode.InvalidParams, `invalid settings: ${describeIssues(change.error)}`);
      const next = withoutUndefined(Settings.parse({ ...this.settingsValue, ...change.data }));
      await this.write(SETTINGS_FILE, { ...this.unknownSettings, ...next });
      this.settingsValue = next;
      return { ...next };
    });
  }

  // ---------------------------------------------------------------- servers

  servers(): ServerInfo[] {
    return this.records.map(toInfo);
  }

  server(id: string): ServerInfo | undefined {
    const r = this.records.find((s) => s.id === id);
    return r && toInfo(r);
  }

  /**
   * Imports a wg-quick config: its [Interface] becomes a profile, each [Peer] with an Endpoint a
   * server. Returns the first of those servers, and the lines it left out (see the header).
   */
  importConfig(text: string, name?: string): Promise<ImportResult> {
    return this.exclusive(async () => {
      if (typeof text !== 'string' || text.trim() === '') throw new RpcError(ErrorCode.InvalidParams, 'the config is empty');
      if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) {
        throw new RpcError(ErrorCode.InvalidParams, `the config is larger than ${MAX_CONFIG_BYTES / 1024} KiB; is it really a WireGuard .conf file?`);
      }
      const label = name?.trim();
      if (name !== undefined && (label === '' || label!.length > 100)) throw new RpcError(ErrorCode.InvalidParams, 'a server name has 1 to 100 characters');

      let cfg: WgQuickConfig;
      let notes: ImportNote[];
      try {
        ({ config: cfg, notes } = parseWgQuickForImport(text));
      } catch (e) {
        if (e instanceof ConfigError) throw new RpcError(ErrorCode.InvalidConfig, e.message);
        throw e;
      }
      const iface = cfg.interface;
      if (iface.addresses.length === 0) {
        throw new RpcError(ErrorCode.InvalidConfig, 'the [Interface] section has no Address; the config from your provider should have one, e.g. Address = 10.64.0.2/32');
      }
      const peers = cfg.peers.filter((p): p is PeerConfig & { endpoint: NonNullable<PeerConfig['endpoint']> } => p.endpoint !== undefined);
      if (peers.length === 0) {
        throw new RpcError(ErrorCode.InvalidConfig, 'the config has no [Peer] with an Endpoint, so there is no server to connect to');
      }

      // The profile: the same key with the same interface settings again updates the existing one
      // and makes it the newest. A provider that gives each server its own tunnel address under one
      // key (as the lab does) gets one profile per address, so no server is used with another's.
      const privateKey = toBase64(iface.privateKey);
      iface.privateKey.fill(0);
      const addresses = iface.addresses.map(formatPrefix);
      const existing = this.profiles.find((p) => sameKey(p.privateKey, privateKey) && p.addresses.join() === addresses.join());
      const profile: ProfileRecord = withoutUndefined({
        id: existing?.id ?? uniqueId(`p-${randomBytes(6).toString('hex')}`, new Set(this.profiles.map((p) => p.id))),
        name: label ?? existing?.name,
        privateKey,
        addresses,
        dns: [...iface.dns],
        dnsSearch: [...iface.dnsSearch],
        mtu: iface.mtu,
        importedAt: this.now(),
      });

      // The servers: an imported peer we already have (same key and endpoint) keeps its id.
      const records = [...this.records];
      const taken = new Set(records.map((r) => r.id));
      const added: ServerRecord[] = [];
      for (const peer of peers) {
        const endpoint = formatEndpoint(peer.endpoint);
        const publicKey = toBase64(peer.publicKey);
        const serverName = (label === undefined ? endpoint : peers.length === 1 ? label : `${label} (${peer.endpoint.host})`).slice(0, 100);
        const index = records.findIndex((r) => r.source === 'import' && r.publicKey === publicKey && r.endpoint === endpoint);
        const id = index >= 0 ? records[index]!.id : uniqueId(slugify(label ?? peer.endpoint.host), taken);
        taken.add(id);
        const record: ServerRecord = withoutUndefined({
          id,
          name: serverName,
          endpoint,
          publicKey,
          source: 'import' as const,
          profileId: profile.id,
          allowedIPs: peer.allowedIPs.length > 0 ? peer.allowedIPs.map(formatPrefix) : [...DEFAULT_ALLOWED_IPS],
          presharedKey: peer.presharedKey && toBase64(peer.presharedKey),
          persistentKeepalive: peer.persistentKeepalive,
        });
        peer.presharedKey?.fill(0);
        if (index >= 0) records[index] = record;
        else records.push(record);
        added.push(record);
      }

      const profiles = [...this.profiles.filter((p) => p.id !== profile.id), profile];
      await this.saveProfiles(profiles);
      await this.saveServers(records);
      await this.saveProfiles(this.usedProfiles(profiles, records));
      const left = notes.length > 0 ? `; left out ${notes.length} line${notes.length === 1 ? '' : 's'} (${[...new Set(notes.map((n) => n.key))].join(', ')})` : '';
      this.log(`imported ${added.length} server${added.length === 1 ? '' : 's'} from a WireGuard config: ${added.map((r) => r.id).join(', ')}${left}`);
      return { server: toInfo(added[0]!), notes: capNotes(notes) };
    });
  }

  /**
   * Replaces the catalog servers with those of `json` (imported servers stay). They use the newest
   * profile. Returns the whole server list.
   */
  loadCatalog(json: unknown): Promise<ServerInfo[]> {
    return this.exclusive(async () => {
      const profile = this.profiles.at(-1);
      if (!profile) throw new RpcError(ErrorCode.NoProfile, NO_PROFILE);
      const entries = parseCatalog(json);
      const imported = this.records.filter((r) => r.source === 'import');
      const taken = new Set(imported.map((r) => r.id));
      const catalog = entries.map((e): ServerRecord => {
        const id = uniqueId(e.id, taken);
        taken.add(id);
        return withoutUndefined({
          id,
          name: e.name,
          country: e.country,
          countryCode: e.countryCode,
          city: e.city,
          latitude: e.latitude,
          longitude: e.longitude,
          endpoint: e.endpoint,
          publicKey: e.publicKey,
          exitIp: e.exitIp,
          source: 'catalog' as const,
          profileId: profile.id,
          allowedIPs: e.allowedIPs ?? [...DEFAULT_ALLOWED_IPS],
        });
      });
      const records = [...imported, ...catalog];
      await this.saveServers(records);
      await this.saveProfiles(this.usedProfiles(this.profiles, records));
      this.log(`loaded a catalog of ${catalog.length} server${catalog.length === 1 ? '' : 's'}`);
      return this.servers();
    });
  }

  /** Removes a server (and its profile, if no other server uses it); returns the remaining list. */
  removeServer(id: string): Promise<ServerInfo[]> {
    return this.exclusive(async () => {
      if (!this.records.some((r) => r.id === id)) {
        throw new RpcError(ErrorCode.NotFound, `there is no server with id ${JSON.stringify(String(id).slice(0, 64))}; listServers shows the ids`);
      }
      const records = this.records.filter((r) => r.id !== id);
      await this.saveServers(records);
      await this.saveProfiles(this.usedProfiles(this.profiles, records));
      return this.servers();
    });
  }

  /**
   * The tunnel's configuration for a server: the profile's [Interface] and that server as the one
   * [Peer]. The ONLY way key material leaves the store; the caller should wipe the keys after use.
   */
  tunnelConfig(serverId: string): WgQuickConfig {
    const server = this.records.find((r) => r.id === serverId);
    if (!server) throw new RpcError(ErrorCode.NotFound, `there is no server with id ${JSON.stringify(String(serverId).slice(0, 64))}; listServers shows the ids`);
    const profile = this.profiles.find((p) => p.id === server.profileId);
    if (!profile) throw new RpcError(ErrorCode.NoProfile, `the key for server "${server.id}" is missing; ${NO_PROFILE}`);
    const peer: PeerConfig = {
      publicKey: parseKey(server.publicKey),
      endpoint: parseEndpoint(server.endpoint),
      allowedIPs: server.allowedIPs.map((c) => parsePrefix(c)),
    };
    if (server.presharedKey) peer.presharedKey = parseKey(server.presharedKey);
    if (server.persistentKeepalive !== undefined) peer.persistentKeepalive = server.persistentKeepalive;
    return {
      interface: {
        privateKey: parseKey(profile.privateKey),
        addresses: profile.addresses.map((a) => parsePrefix(a, { keepHostBits: true })),
        dns: [...profile.dns],
        dnsSearch: [...profile.dnsSearch],
        ...(profile.mtu !== undefined ? { mtu: profile.mtu } : {}),
      },
      peers: [peer],
    };
  }

  // ---------------------------------------------------------------- desired state

  desired(): { wantConnected: boolean; serverId?: string } {
    return { ...this.desiredValue };
  }

  setDesired(d: { wantConnected: boolean; serverId?: string }): Promise<void> {
    return this.exclusive(async () => {
      const parsed = Desired.safeParse(d);
      if (!parsed.success) throw new RpcError(ErrorCode.InvalidParams, `invalid connection state: ${describeIssues(parsed.error)}`);
      const next = withoutUndefined(parsed.data);
      if (next.serverId !== undefined && !this.records.some((r) => r.id === next.serverId)) {
        throw new RpcError(ErrorCode.NotFound, `there is no server with id "${next.serverId}"; listServers shows the ids`);
      }
      // Not fsynced: a connect waits for this before its firewall, and what it must survive is a
      // crash of the helper (whose restart reads it at once), not a power loss, which takes the
      // kernel's firewall with it; the next boot starts from the boot block and settings.
      await this.write(STATE_FILE, next, false);
      this.desiredValue = next;
    });
  }

  // ---------------------------------------------------------------- internals

  /** Runs `op` after every earlier one has finished (failed ones included). */
  private exclusive<T>(op: () => Promise<T>): Promise<T> {
    const result = this.chain.then(op, op);
    this.chain = result.catch(() => undefined);
    return result;
  }

  private usedProfiles(profiles: ProfileRecord[], records: ServerRecord[]): ProfileRecord[] {
    const used = new Set(records.map((r) => r.profileId));
    return profiles.filter((p) => used.has(p.id));
  }

  private async saveProfiles(profiles: ProfileRecord[]): Promise<void> {
    if (profiles.length === this.profiles.length && profiles.every((p, i) => p === this.profiles[i])) return;
    await this.write(PROFILES_FILE, { profiles });
    this.profiles = profiles;
  }

  private async saveServers(records: ServerRecord[]): Promise<void> {
    await this.write(SERVERS_FILE, { servers: records });
    this.records = records;
  }

  private async write(name: string, value: object, durable = true): Promise<void> {
    try {
      await writeFileAtomic(join(this.dir, name), toJson(value), { ...this.hooks, durable });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOSPC' ? 'the disk is full' : code === 'EROFS' ? 'the file system is read-only' : (code ?? (e as Error).message);
      throw new RpcError(ErrorCode.Internal, `could not save ${name} in ${this.dir} (${why}); the change was not made`);
    }
  }
}
