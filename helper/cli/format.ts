// What `umbra` prints, as pure functions of the helper's answers (and the time, for durations).
import { IpcError } from '../ipc/client.js';
import { bytesText, floodText, HOLD_TEXT, noReplyText, pathMtuText, WANTS_TUNNEL } from '../ipc/tunnel-words.js';
import { ErrorCode, RpcError, type BlockHold, type NetworkRule, type ImportNote, type CatalogTrust, type LatencyReport, type LeakCheckResult, type LeakReport, type LeakVerdict, type MeasuredExit, type ServerInfo, type Settings, type TunnelStatus } from '../ipc/schema.js';

export const EXIT_OK = 0;
/** The helper answered with an error, or the operation did not reach its goal. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** The helper could not be reached (not running, no permission, no answer). */
const EXIT_UNREACHABLE = 3;

/** 512 B, 300 kB, 1.2 MB: SI units, 2 significant digits below 10. */
export const formatBytes = (n: number): string => bytesText(n, '?');

/** 45s, 3m12s, 2h05m, 3d4h. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

/** "Stockholm (se-sto)", or just the id when the name is the id. */
export function serverLabel(server: Pick<ServerInfo, 'id' | 'name'>): string {
  return server.name === server.id ? server.id : `${server.name} (${server.id})`;
}

/** "Stockholm, Sweden": what is known of where a server is ('' when nothing). */
function formatLocation(server: Pick<ServerInfo, 'city' | 'country'>): string {
  return [server.city, server.country].filter((x) => x).join(', ');
}

/** While connected (or reconnecting): where the server is and the address the internet sees. */
function serverLines(status: TunnelStatus): string[] {
  const server = status.server;
  if (!server || (status.state !== 'connected' && status.state !== 'reconnecting')) return [];
  const lines = [];
  const where = formatLocation(server);
  if (where) lines.push(`Location: ${where}`);
  if (status.state === 'connected') lines.push(...exitLines(status.measuredExit, server.exitIp));
  return lines;
}

/**
 * The exit as the helper measured it through the tunnel, and a warning when the catalog names
 * another; the catalog's address is only ever shown as the catalog's.
 */
export function exitLines(m: MeasuredExit | undefined, catalog: string | undefined): string[] {
  const says = catalog ? `the catalog says ${catalog}` : 'not in the catalog';
  // An older helper measures nothing: say where the address comes from.
  if (!m) return [catalog ? `Exit address: ${catalog} (from the catalog, not measured; umbra leak-check measures it)` : 'Exit address: not in the catalog (umbra leak-check measures it)'];
  switch (m.state) {
    case 'measuring':
      return [`Exit address: measuring… (${says})`];
    case 'unmeasurable':
      return [`Exit address: could not measure: no IP-echo service answered through the tunnel${m.error ? ` (${m.error})` : ''}; ${says}, unconfirmed`];
    case 'measured': {
      const seen = [m.ipv4, m.ipv6].filter((a) => a !== undefined).join(', ');
      if (m.outsideTunnel) return [`Exit address: ${seen}`, `Warning: the internet sees ${seen}, this machine's own address without the VPN: this traffic does not go through the tunnel`];
      if (m.matchesCatalog === false) return [`Exit address: ${seen} (measured through the tunnel)`, `Warning: the catalog says ${catalog}; the internet sees ${seen}`];
      return [`Exit address: ${seen} (measured through the tunnel; ${m.matchesCatalog ? 'the catalog agrees' : says})`];
    }
  }
}

/** Addresses without their prefix length: 100.64.1.2, fd00::2. */
export function formatAddresses(addresses: readonly string[]): string {
  return addresses.map((a) => a.replace(/\/\d+$/, '')).join(', ');
}

const HOLD_COMMANDS: Record<BlockHold, string> = {
  boot: 'umbra connect, or umbra set kill-switch-on-boot off',
  'unreadable-state': 'umbra connect, or umbra disconnect',
  lockdown: 'umbra connect, or umbra set lockdown off',
  'untrusted-network': 'umbra connect, or umbra networks set current trusted',
};

const NETWORK_RULE_WORDS: Record<NetworkRule, string> = {
  trusted: 'trusted',
  untrusted: 'untrusted: Umbra connects, with the kill switch on',
  ask: 'not decided yet (ask)',
};

/** The one-line summary of the tunnel; `already`: a connect found it so and changed nothing. */
export function formatStatusLine(status: TunnelStatus, now: number, opts: { already?: boolean } = {}): string {
  const label = status.server ? serverLabel(status.server) : undefined;
  switch (status.state) {
    case 'connected': {
      const connected = opts.already ? 'Already connected' : 'Connected';
      const parts = [label ? `${connected} to ${label}` : connected];
      if (status.addresses.length > 0) parts.push(formatAddresses(status.addresses));
      if (status.connectedSince !== undefined) parts.push(`up ${formatDuration(now - status.connectedSince)}`);
      parts.push(`↓${formatBytes(status.rxBytes)} ↑${formatBytes(status.txBytes)}`);
      const quiet = noReplyText(status, now);
      if (quiet) parts.push(quiet);
      return parts.join(' · ');
    }
    case 'connecting': {
      const connecting = opts.already ? 'Already connecting' : 'Connecting';
      return `${label ? `${connecting} to ${label}` : connecting}…${status.attempt > 0 ? ` (retry ${status.attempt})` : ''}`;
    }
    case 'reconnecting':
      return `${label ? `Reconnecting to ${label}` : 'Reconnecting'}: the server stopped answering…${status.attempt > 0 ? ` (retry ${status.attempt})` : ''}`;
    case 'disconnecting':
      return label ? `Disconnecting from ${label}…` : 'Disconnecting…';
    case 'disconnected':
      return 'Disconnected';
    case 'error': {
      const why = status.error?.message ?? 'the helper gave no reason';
      return label ? `Could not connect to ${label}: ${why}` : `Not connected: ${why}`;
    }
  }
}

/** "on (blocking)", "off", … : the kill switch as the helper reports it, not as wished. */
export function formatKillSwitch(status: TunnelStatus, settings: Settings): string {
  // `blocked` is what the kernel holds; a block wanted (by the setting or by the helper) and not
  // held is said, never hidden.
  const wanted = (settings.killSwitch && WANTS_TUNNEL.has(status.state)) || status.firewall.wanted === 'block';
  if (wanted && !status.blocked) {
    const why = status.firewall.kernel === 'foreign' ? 'a table named like Umbra’s that is not Umbra’s is in the kernel' : 'its rules are not in the kernel';
    return `${onOff(settings.killSwitch)} (but ${why}: traffic may leak; reconnect or restart umbrad)`;
  }
  if (settings.killSwitch) {
    if (status.blocked) return 'on (blocking)';
    return status.state === 'disconnected' ? 'on (not blocking while disconnected)' : 'on (not blocking)';
  }
  if (status.blocked) {
    if (status.state === 'disconnected' && status.hold === 'lockdown') return 'off (traffic is blocked: lockdown is on)';
    if (status.state === 'disconnected' && status.hold === 'boot') return 'off (traffic is blocked: kill switch on boot)';
    if (status.state === 'disconnected' && status.hold === 'unreadable-state') return 'off (traffic is blocked: the settings were unreadable after a crash)';
    return 'off (but traffic is blocked)';
  }
  return 'off';
}

/** What to do about a block the kernel holds outside a working tunnel, if it does. */
function blockAdvice(status: TunnelStatus): string | undefined {
  if (!status.blocked) return undefined;
  switch (status.state) {
    case 'connecting':
    case 'error':
      return 'Traffic outside the tunnel is blocked until you connect; umbra disconnect lifts the block.';
    case 'reconnecting':
      return 'Traffic outside the tunnel is blocked until the server answers again; umbra disconnect lifts the block.';
    case 'disconnected':
      return status.hold ? `${HOLD_TEXT[status.hold]} (${HOLD_COMMANDS[status.hold]}).` : 'Traffic outside the tunnel is blocked; umbra connect, or umbra disconnect to lift the block.';
    case 'connected':
    case 'disconnecting':
      return undefined;
  }
}

/** `umbra status`: the summary line, what went wrong if anything, and the kill switch. */
export function formatStatus(status: TunnelStatus, settings: Settings | undefined, now: number, opts: { already?: boolean } = {}): string[] {
  const lines = [formatStatusLine(status, now, opts), ...serverLines(status)];
  if ((status.state === 'connecting' || status.state === 'reconnecting') && status.error) lines.push(`Last error: ${status.error.message}`);
  const pathMtu = pathMtuText(status);
  if (pathMtu) lines.push(`Path MTU: ${pathMtu}`);
  if (status.handshakeFloodDropped) lines.push(`Under a handshake flood: ${floodText(status.handshakeFloodDropped)}; traffic goes on`);
  if (settings) lines.push(`Kill switch: ${formatKillSwitch(status, settings)}`);
  // Trusted networks: the rule of the network the machine is on (untrusted forces the kill switch on).
  if (status.network) lines.push(`Network: ${status.network.name}, ${NETWORK_RULE_WORDS[status.network.rule]} (umbra networks)`);
  const advice = blockAdvice(status);
  if (advice) lines.push(advice);
  return lines;
}

/** Rows under a header, each column as wide as its widest cell, two spaces apart; no trailing blanks. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => header.map((_, i) => (cells[i] ?? '').padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** 23 ms, 4.2 ms, <0.1 ms: a round trip, as precise as it is worth reading. */
export function formatRtt(ms: number): string {
  if (ms < 0.05) return '<0.1 ms';
  return ms < 9.95 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** What `umbra servers` knows of latency: the helper's report, or why there is none. */
export type ServersLatency = { report: LatencyReport } | { error: string };

const NO_FIGURE = '—';

/** The LATENCY cell of each server, and the lines under the table that say why a cell is empty and where figures came from. */
function latencyColumn(servers: readonly ServerInfo[], latency: ServersLatency): { cells: string[]; notes: string[] } {
  if ('error' in latency) return { cells: servers.map(() => NO_FIGURE), notes: [`${NO_FIGURE} latency not measured: ${latency.error}`] };
  const byId = new Map(latency.report.results.map((r) => [r.id, r]));
  const cells = servers.map((s) => {
    const r = byId.get(s.id);
    return r?.rttMs == null ? NO_FIGURE : formatRtt(r.rttMs);
  });
  // One line per reason; the servers it applies to named unless it is all of them.
  const why = new Map<string, string[]>();
  for (const s of servers) {
    const r = byId.get(s.id);
    if (r?.rttMs != null) continue;
    const reason = r?.reason ?? (r ? 'no figure' : 'not measured (the helper did not report it)');
    why.set(reason, [...(why.get(reason) ?? []), s.id]);
  }
  const notes = [...why].map(([reason, ids]) => (ids.length === servers.length ? `${NO_FIGURE} ${reason}` : `${NO_FIGURE} ${ids.join(', ')}: ${reason}`));
  const via = latency.report.via;
  if (via !== undefined && cells.some((c) => c !== NO_FIGURE)) {
    const server = servers.find((s) => s.id === via);
    notes.push(`Latency via the exit of ${server ? serverLabel(server) : via}: measured through the tunnel, not from this machine`);
  }
  return { cells, notes };
}

/**
 * `umbra servers`: an aligned table, the server in use marked (* connected, ~ on its way), or
 * what to do when there is none. The exit IP is the catalog's (blank when it names none). With
 * `latency`, a LATENCY column and the notes that explain it.
 */
export function formatServers(servers: readonly ServerInfo[], status?: TunnelStatus, latency?: ServersLatency): string[] {
  if (servers.length === 0) return ['No servers yet. Add one from a WireGuard config: umbra import FILE.conf'];
  const inUse = status?.server?.id;
  const mark = status?.state === 'connected' ? '*' : status?.state === 'connecting' || status?.state === 'reconnecting' ? '~' : '';
  const marked = mark !== '' && servers.some((s) => s.id === inUse);
  const lat = latency ? latencyColumn(servers, latency) : undefined;
  const header = ['ID', 'NAME', 'CITY', 'COUNTRY', 'EXIT IP', 'ENDPOINT', ...(lat ? ['LATENCY'] : [])];
  const rows = servers.map((s, i) => [s.id, s.name === s.id ? '' : s.name, s.city ?? '', s.country ?? '', s.exitIp ?? '', s.endpoint, ...(lat ? [lat.cells[i]!] : [])]);
  const notes = lat?.notes ?? [];
  if (!marked) return [...formatTable(header, rows), ...notes];
  const table = formatTable(['', ...header], rows.map((r, i) => [servers[i]!.id === inUse ? mark : '', ...r]));
  return [...table, mark === '*' ? '* connected' : `~ ${status!.state}`, ...notes];
}

/** `umbra servers --json`: each server with its latency (when measured), and when and how it was measured. */
export function serversJson(servers: readonly ServerInfo[], latency?: ServersLatency): Record<string, unknown> {
  if (!latency) return { servers };
  if ('error' in latency) return { servers, latency: { error: latency.error } };
  const byId = new Map(latency.report.results.map((r) => [r.id, r]));
  return {
    servers: servers.map((s) => {
      const r = byId.get(s.id);
      return { ...s, latency: r ? { rttMs: r.rttMs, ...(r.reason === undefined ? {} : { reason: r.reason }) } : { rttMs: null, reason: 'not measured (the helper did not report it)' } };
    }),
    latency: { measuredAt: latency.report.measuredAt, ...(latency.report.via === undefined ? {} : { via: latency.report.via }) },
  };
}

const SETTING_LABELS = {
  killSwitch: 'Kill switch',
  killSwitchOnBoot: 'Kill switch on boot',
  lockdown: 'Lockdown (always require the VPN)',
  allowLan: 'Allow LAN',
  autoConnect: 'Auto-connect',
} as const satisfies Record<{ [K in keyof Settings]-?: NonNullable<Settings[K]> extends boolean ? K : never }[keyof Settings], string>;
export type BooleanSetting = keyof typeof SETTING_LABELS;

/** The leak check's settings (lists and services rather than switches). */
const LEAK_SETTING_LABELS = {
  echoUrls: 'Leak check, IP-echo services',
  echoUrl6: 'Leak check, IPv6 echo service',
  dnsLeakTest: 'Leak check, DNS leak test',
  stunServers: 'Leak check, STUN servers',
  dnsServers: 'DNS servers',
  lanDns: 'Local network domains',
} as const satisfies Partial<Record<keyof Settings, string>>;
export type LeakSetting = keyof typeof LEAK_SETTING_LABELS;

const onOff = (v: boolean | undefined): string => (v ? 'on' : 'off');

function leakSettingValue(key: LeakSetting, s: Settings): string {
  switch (key) {
    case 'echoUrls':
      return s.echoUrls?.join(', ') ?? 'the defaults';
    case 'echoUrl6':
      return s.echoUrl6 === null ? 'off' : (s.echoUrl6 ?? 'the IP-echo services over IPv6');
    case 'dnsLeakTest':
      return s.dnsLeakTest ? `names under ${s.dnsLeakTest.zone}, asking ${s.dnsLeakTest.apiUrl}` : 'off';
    case 'stunServers':
      return s.stunServers && s.stunServers.length > 0 ? s.stunServers.join(', ') : 'none';
    case 'dnsServers':
      return s.dnsServers && s.dnsServers.length > 0 ? `${s.dnsServers.join(', ')}, through the tunnel` : "each config's own";
    case 'lanDns':
      return s.lanDns ? `${s.lanDns.domains.join(', ')} via ${s.lanDns.servers.join(', ')}, outside the tunnel` : 'off (every name through the tunnel)';
  }
}

/** `umbra settings`. */
export function formatSettings(settings: Settings): string[] {
  const lines = (Object.keys(SETTING_LABELS) as BooleanSetting[]).map((k) => `${SETTING_LABELS[k]}: ${onOff(settings[k])}`);
  if (settings.lastServerId) lines.push(`Last server: ${settings.lastServerId}`);
  for (const k of Object.keys(LEAK_SETTING_LABELS) as LeakSetting[]) lines.push(`${LEAK_SETTING_LABELS[k]}: ${leakSettingValue(k, settings)}`);
  return lines;
}

/** After `umbra set …`: the setting as the helper now has it. */
export function formatSettingChange(key: BooleanSetting | LeakSetting, settings: Settings): string {
  if (key in LEAK_SETTING_LABELS) return `${LEAK_SETTING_LABELS[key as LeakSetting]}: ${leakSettingValue(key as LeakSetting, settings)}`;
  return `${SETTING_LABELS[key as BooleanSetting]}: ${onOff(settings[key as BooleanSetting])}`;
}

// ------------------------------------------------------------------ leak check

/** A verdict in words and a sign that does not depend on colour. */
const VERDICT_TAGS: Record<LeakVerdict, string> = { pass: '✔ PASS', warn: '! WARN', fail: '✘ FAIL' };

const STATE_WORDS: Record<TunnelStatus['state'], string> = {
  connected: 'connected',
  connecting: 'connecting',
  reconnecting: 'reconnecting',
  disconnected: 'disconnected',
  disconnecting: 'disconnecting',
  error: 'not connected (error)',
};

/** "Stockholm (se-sto), Stockholm, Sweden": a server by its name and place (its id when unknown). */
function serverWithPlace(id: string, servers: readonly ServerInfo[]): string {
  const server = servers.find((s) => s.id === id);
  if (!server) return id;
  const where = formatLocation(server);
  return where ? `${serverLabel(server)}, ${where}` : serverLabel(server);
}

/** "Leak check while connected to Stockholm (se-sto), Stockholm, Sweden:". */
export function formatLeakHeader(r: Pick<LeakReport, 'state' | 'serverId'>, servers: readonly ServerInfo[] = []): string {
  return `Leak check while ${STATE_WORDS[r.state]}${r.serverId ? ` to ${serverWithPlace(r.serverId, servers)}` : ''}:`;
}

/** One check's verdict and finding; `evidence`: what it saw, indented under it. */
export function formatCheck(c: LeakCheckResult, evidence = false): string[] {
  const lines = [`${VERDICT_TAGS[c.verdict]}  ${c.title}: ${c.finding}`];
  if (!evidence) return lines;
  const pad = ' '.repeat(VERDICT_TAGS.pass.length + 2);
  for (const e of c.evidence) {
    const [first = '', ...rest] = e.text.split('\n');
    lines.push(`${pad}${e.label}: ${first}`);
    for (const more of rest) lines.push(`${pad}  ${more}`);
  }
  return lines;
}

/** The tally under the checks: never "nothing escapes" unless connected and every check passed. */
export function formatLeakTally(r: Pick<LeakReport, 'state' | 'checks'>): string {
  const count = (v: LeakVerdict) => r.checks.filter((c) => c.verdict === v).length;
  const fails = count('fail');
  const warns = count('warn');
  if (fails > 0) return `${fails} check${fails === 1 ? '' : 's'} failed: something escapes the tunnel or the kill switch is not as set.`;
  // No working tunnel carried this traffic: never "nothing escapes".
  if (r.state !== 'connected') return `Not connected when checked (${r.state}): these results do not show a working tunnel; connect and check again.`;
  if (warns > 0) return `Nothing was seen escaping; ${warns} check${warns === 1 ? '' : 's'} could not prove it (see WARN).`;
  return 'All checks passed: nothing escapes the tunnel.';
}

/**
 * `umbra leak-check`: each check's verdict and finding, then a tally; `evidence`: what each check
 * saw (raw rules and routes) indented under it. `servers` name the server the check ran on.
 */
export function formatLeakReport(r: LeakReport, opts: { evidence?: boolean; servers?: readonly ServerInfo[] } = {}): string[] {
  return [formatLeakHeader(r, opts.servers), ...r.checks.flatMap((c) => formatCheck(c, opts.evidence)), formatLeakTally(r)];
}

/** After `umbra import`. */
/** What an import brought in, each line it left out and why, and how to connect. */
export function formatImported(server: ServerInfo, notes: readonly ImportNote[] = []): string[] {
  const left = notes.length === 0 ? [] : ['Left out of the config:', ...notes.map((n) => `  ${n.line > 0 ? `line ${n.line}: ` : ''}${n.key} — ${n.why}`)];
  return [`Imported ${serverLabel(server)} · ${server.endpoint}`, ...left, `Connect with: umbra connect ${server.id}`];
}

/** After a catalog loaded: how many servers it gave, and where to see them. */
export function formatCatalogLoaded(servers: readonly ServerInfo[], trust?: CatalogTrust): string[] {
  const n = servers.filter((s) => s.source === 'catalog').length;
  const signed = trust === undefined ? [] : [trust.signed ? `Signed by the key you pinned (${trust.keyFingerprint ?? '?'})` : 'Unsigned: nothing proves it came from your provider unchanged'];
  return [`Loaded the catalog: ${n} server${n === 1 ? '' : 's'} (${servers.length} in all)`, ...signed, 'See them with: umbra servers'];
}

export interface Failure {
  message: string;
  exitCode: number;
  /** What --json prints. */
  json: { error: { message: string; code?: number; kind?: string; data?: unknown } };
}

/** Any error a command ends with, as a message and an exit code. */
export function describeFailure(e: unknown): Failure {
  if (e instanceof IpcError) {
    const message = e.hint ? `${e.message}: ${e.hint}` : e.message;
    return { message, exitCode: EXIT_UNREACHABLE, json: { error: { kind: e.kind, message } } };
  }
  if (e instanceof RpcError) {
    const exitCode = e.code === ErrorCode.PermissionDenied ? EXIT_UNREACHABLE : EXIT_FAILED;
    return { message: e.message, exitCode, json: { error: { code: e.code, message: e.message, ...(e.data === undefined ? {} : { data: e.data }) } } };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { message, exitCode: EXIT_FAILED, json: { error: { message } } };
}
