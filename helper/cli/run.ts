// `umbra`: runs one command against the helper and returns the exit code. Everything it touches
// (output, environment, files, time) comes in through `CliIo`, so tests run it in-process.
import { IpcClient, IpcError } from '../ipc/client.js';
import { packageVersion } from '../platform/fs/package-version.js';
import {
  MAX_CATALOG_TEXT_BYTES, MAX_CONFIG_BYTES, PROTOCOL_VERSION, RpcError, ServerId, type HelperEvent, type LeakCheckId, type LeakCheckResult, type LeakReport, type Params, type Settings, type TunnelStatus,
} from '../ipc/schema.js';
import { parseArgs, socketPath, UsageError, USAGE, type Command, type Invocation } from './args.js';
import { readUserFile, UserFileError } from './read-user-file.js';
import { ExcludeFailure, runExclude } from './exclude.js';
import { findProgram, LaunchError } from '../ipc/launch-excluded.js';
import {
  describeFailure, EXIT_FAILED, EXIT_OK, EXIT_USAGE, formatCatalogLoaded, formatCheck, formatImported, formatLeakHeader, formatLeakTally, formatServers, formatSettingChange, formatSettings, formatStatus, formatStatusLine, serversJson, type ServersLatency,
} from './format.js';
import { runNetworks } from './networks.js';

export interface CliIo {
  /** One call per line printed to stdout / stderr (without the newline). */
  out(line: string): void;
  err(line: string): void;
  env: Record<string, string | undefined>;
  /** Reads a file the user names, as the user (default: readUserFile); may throw UserFileError. */
  readFile?: (path: string, maxBytes: number) => Promise<string>;
  now?: () => number;
  /** How long `connect` waits for connected or error. Default 20 s. */
  connectWaitMs?: number;
  /** How long `disconnect` waits for disconnected. Default 10 s. */
  disconnectWaitMs?: number;
  /** How long `status` waits for the exit of a connection just made to be measured. Default 5 s. */
  measureWaitMs?: number;
  /** Default: from package.json. */
  clientVersion?: string;
}

/** A failure of the command itself (not of the helper), with its exit code. */
class CliFailure extends Error {
  constructor(message: string, readonly exitCode = EXIT_FAILED) {
    super(message);
  }
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let inv: Invocation;
  try {
    inv = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    // --json asked for JSON, also when the rest of the command line is wrong.
    if (wantsJson(argv)) io.out(JSON.stringify({ error: { kind: 'usage', message: e.message } }));
    else {
      io.err(`umbra: ${e.message}`);
      io.err('Run "umbra help" for usage.');
    }
    return EXIT_USAGE;
  }
  const ctx = new Context(inv, io);
  try {
    return await ctx.run(inv.command);
  } catch (e) {
    const failure = describeFailure(e);
    const exitCode = e instanceof CliFailure ? e.exitCode : failure.exitCode;
    // --json: stdout carries one JSON document, the result or the error, so a script reads one place.
    if (inv.json) io.out(JSON.stringify(ctx.partial === undefined ? failure.json : { ...ctx.partial, ...failure.json }));
    else io.err(`umbra: ${failure.message}`);
    return exitCode;
  } finally {
    await ctx.dispose();
  }
}

/** --json among the options (not after `--`, where it is an argument). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

class Context {
  private client: IpcClient | undefined;
  /** What a command learnt before it failed, printed with the error under --json. */
  partial: Record<string, unknown> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly inv: Invocation,
    private readonly io: CliIo,
  ) {
    this.now = io.now ?? Date.now;
  }

  private async connect(): Promise<IpcClient> {
    this.client ??= await IpcClient.connect(socketPath(this.inv, this.io.env), { timeoutMs: 5000 });
    return this.client;
  }

  async dispose(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.close();
  }

  /** --json: the value as JSON; else the human lines. */
  private print(value: unknown, lines: () => string[]): void {
    if (this.inv.json) this.io.out(JSON.stringify(value, null, 2));
    else for (const line of lines()) this.io.out(line);
  }

  async run(command: Command): Promise<number> {
    switch (command.name) {
      case 'help':
        this.io.out(USAGE);
        return EXIT_OK;
      case 'version':
        return this.version();
      case 'status': {
        const client = await this.connect();
        const status = await this.measuredStatus(client);
        const settings = this.inv.json ? undefined : await client.call('getSettings');
        this.print(status, () => formatStatus(status, settings, this.now()));
        return EXIT_OK;
      }
      case 'servers': {
        const client = await this.connect();
        const { servers } = await client.call('listServers');
        const status = this.inv.json ? undefined : await client.call('status');
        const latency = command.noLatency || servers.length === 0 ? undefined : await measureLatency(client);
        this.print(serversJson(servers, latency), () => formatServers(servers, status, latency));
        return EXIT_OK;
      }
      case 'settings': {
        const settings = await (await this.connect()).call('getSettings');
        this.print(settings, () => formatSettings(settings));
        return EXIT_OK;
      }
      case 'networks':
      case 'networks-set':
      case 'networks-forget':
      case 'networks-default': {
        const r = await runNetworks(await this.connect(), command);
        this.print(r.json, () => r.lines);
        return EXIT_OK;
      }
      case 'set': {
        const patch: Partial<Settings> = { [command.key]: command.value };
        const settings = await (await this.connect()).call('setSettings', patch);
        this.print(settings, () => [formatSettingChange(command.key, settings)]);
        return EXIT_OK;
      }
      case 'configure': {
        const settings = await (await this.connect()).call('setSettings', command.patch);
        this.print(settings, () => [formatSettingChange(command.key, settings)]);
        return EXIT_OK;
      }
      case 'leak-check':
        return this.leakCheck(await this.connect());
      case 'import':
        return this.importConfig(command.file, command.serverName);
      case 'load-catalog':
        return this.loadCatalog(command);
      case 'connect':
        return this.connectTunnel(command.server);
      case 'disconnect':
        return this.disconnectTunnel();
      case 'exclude':
      case 'include':
        return this.exclude(command);
    }
  }

  /** `umbra leak-check`: each check printed as the helper finishes it (--json: the report). */
  private async leakCheck(client: IpcClient): Promise<number> {
    const verdict = (r: LeakReport) => (r.checks.some((c) => c.verdict === 'fail') ? EXIT_FAILED : EXIT_OK);
    if (this.inv.json) {
      const report = await client.call('leakCheck');
      this.print(report, () => []);
      return verdict(report);
    }
    const before = await client.call('status');
    const servers = before.server ? (await client.call('listServers')).servers : [];
    const printed = new Set<LeakCheckId>();
    let headed = false;
    /** The run whose checks are on screen (its checkedAt): lines of another client's run are not ours. */
    let shown: number | undefined;
    const show = (head: Pick<LeakReport, 'state' | 'serverId'>, c: LeakCheckResult, runId: number) => {
      if (!headed) this.io.out(formatLeakHeader(head, servers));
      headed = true;
      if (shown !== undefined && shown !== runId) {
        this.io.out('(those came from a run another client began; this check’s own results:)');
        printed.clear();
      }
      shown = runId;
      if (printed.has(c.id)) return;
      printed.add(c.id);
      for (const line of formatCheck(c, this.inv.verbose)) this.io.out(line);
    };
    // The run that begins after this subscribe is the one the helper answers with (a call joins a
    // run under way); one already under way is printed when its report comes.
    let run: number | undefined;
    await client.subscribe((e) => {
      if (e.type !== 'leakCheck') return;
      if (e.progress.done.length === 0) run = e.progress.checkedAt;
      if (e.progress.checkedAt !== run) return;
      for (const c of e.progress.done) show({ state: before.state, ...(before.server ? { serverId: before.server.id } : {}) }, c, run);
    });
    const report = await client.call('leakCheck');
    for (const c of report.checks) show(report, c, report.checkedAt);
    if (!headed) this.io.out(formatLeakHeader(report, servers));
    this.io.out(formatLeakTally(report));
    if (!this.inv.verbose && report.checks.some((c) => c.evidence.length > 0)) this.io.out('The evidence behind each verdict: umbra leak-check --verbose');
    return verdict(report);
  }

  /** The status, once the helper has measured the exit of a connection just made (or the wait is over). */
  private async measuredStatus(client: IpcClient): Promise<TunnelStatus> {
    const first = await client.call('status');
    if (first.measuredExit?.state !== 'measuring') return first;
    // The echo services answer or time out within a few seconds; a state change ends it too.
    const { status } = await waitForState(client, () => client.call('status'), (s) => s.measuredExit?.state !== 'measuring', this.io.measureWaitMs ?? 5_000);
    return status;
  }

  private async version(): Promise<number> {
    const client = this.io.clientVersion ?? packageVersion();
    if (!this.inv.json) this.io.out(`umbra ${client} (protocol ${PROTOCOL_VERSION})`);
    try {
      const helper = await (await this.connect()).call('version');
      this.print({ client: { version: client, protocol: PROTOCOL_VERSION }, helper }, () => [`umbrad ${helper.version} (protocol ${helper.protocol})`]);
      if (helper.protocol !== PROTOCOL_VERSION) {
        this.io.err(`umbra: warning: the helper speaks protocol ${helper.protocol} and this client ${PROTOCOL_VERSION}: update Umbra so both match`);
      }
      return EXIT_OK;
    } catch (e) {
      if (e instanceof IpcError) this.partial = { client: { version: client, protocol: PROTOCOL_VERSION }, helper: null };
      throw e;
    }
  }

  /**
   * The text of a file the user names, read here as the user (the helper opens no path it is
   * given); too large: `tooLarge(size)` says so.
   */
  private async readUserText(file: string, maxBytes: number, tooLarge: (size: number) => string): Promise<string> {
    let text: string;
    try {
      text = await (this.io.readFile ?? readUserFile)(file, maxBytes);
    } catch (e) {
      if (e instanceof UserFileError && e.size !== undefined) throw new CliFailure(tooLarge(e.size));
      const code = (e as NodeJS.ErrnoException).code;
      const why = e instanceof UserFileError ? e.why : code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message;
      throw new CliFailure(`cannot read ${file}: ${why}`);
    }
    const size = Buffer.byteLength(text, 'utf8');
    if (size > maxBytes) throw new CliFailure(tooLarge(size));
    return text;
  }

  private async importConfig(file: string, name: string | undefined): Promise<number> {
    const text = await this.readUserText(file, MAX_CONFIG_BYTES, (size) => `${file} is ${size} bytes; a WireGuard config is at most ${MAX_CONFIG_BYTES}: is it the right file?`);
    if (text.trim() === '') throw new CliFailure(`${file} is empty: a WireGuard config has an [Interface] and a [Peer] section`);
    const result = await (await this.connect()).call('importConfig', name === undefined ? { text } : { text, name });
    const notes = result.notes ?? [];
    this.print({ server: result.server, notes }, () => formatImported(result.server, notes));
    return EXIT_OK;
  }

  private async loadCatalog(command: Extract<Command, { name: 'load-catalog' }>): Promise<number> {
    const { source, signingKey, allowUnsigned } = command;
    const key = signingKey !== undefined ? { signingKey } : {};
    let params: Params<'loadCatalog'>;
    if ('file' in source) {
      const text = await this.readUserText(source.file, MAX_CATALOG_TEXT_BYTES, (size) =>
        `${source.file} is ${size} bytes; a catalog file is at most ${MAX_CATALOG_TEXT_BYTES / 1024} KiB (load a larger one by its https URL)`);
      if (text.trim() === '') throw new CliFailure(`${source.file} is empty: a catalog is a JSON file with a "servers" list`);
      params = { text, ...key };
    } else {
      params = { url: source.url, ...key, ...(allowUnsigned ? { allowUnsigned } : {}) };
    }
    const { servers, trust } = await (await this.connect()).call('loadCatalog', params);
    this.print(trust ? { servers, trust } : { servers }, () => formatCatalogLoaded(servers, trust));
    return EXIT_OK;
  }

  /** An id, or a name/city that matches one server (case-insensitive). */
  private async resolveServer(client: IpcClient, wanted: string): Promise<string> {
    const { servers } = await client.call('listServers');
    if (servers.some((s) => s.id === wanted)) return wanted;
    const lower = wanted.toLowerCase();
    const matches = servers.filter((s) => s.id === lower || s.name.toLowerCase() === lower || s.city?.toLowerCase() === lower);
    if (matches.length === 1) return matches[0]!.id;
    if (matches.length > 1) throw new CliFailure(`"${wanted}" matches several servers (${matches.map((s) => s.id).join(', ')}): give the id`);
    if (ServerId.safeParse(wanted).success) return wanted; // let the helper say it does not know it
    throw new CliFailure(`no server "${wanted}": see umbra servers for the ids and names`);
  }

  private async connectTunnel(wanted: string | undefined): Promise<number> {
    const client = await this.connect();
    const serverId = wanted === undefined ? undefined : await this.resolveServer(client, wanted);
    const waitMs = this.io.connectWaitMs ?? 20_000;
    const before = await client.call('status');
    let already = false;
    const { status, timedOut } = await waitForState(
      client,
      async () => {
        const reply = await client.call('connect', serverId === undefined ? {} : { serverId });
        already = sameAttempt(before, reply);
        if (already && reply.state === 'connecting' && !this.inv.json) this.io.out(formatStatusLine(reply, this.now(), { already }));
        return reply;
      },
      (s) => s.state === 'connected' || s.state === 'error' || s.state === 'disconnected',
      waitMs,
    );
    // "Already connected" only when the helper kept the very connection it had (it decides).
    const kept = already && before.state === 'connected';
    // Connected: the exit the helper measures through the new tunnel, when it comes within a few seconds.
    const shown = status.state === 'connected' ? await this.measuredStatus(client) : status;
    // --json: the status, and whether it is the connection that was already there (nothing was redone).
    this.print({ ...shown, alreadyConnected: kept }, () => formatStatus(shown, undefined, this.now(), { already: kept }));
    if (status.state === 'connected') return EXIT_OK;
    if (timedOut) {
      this.io.err(`umbra: still ${status.state} after ${duration(waitMs)}${status.error ? ` (last error: ${status.error.message})` : ''}: umbra status shows progress; umbra disconnect stops trying`);
    } else if (status.state === 'disconnected') {
      this.io.err('umbra: the connection was cancelled (the tunnel is disconnected)');
    }
    return EXIT_FAILED;
  }

  private async exclude(command: Extract<Command, { name: 'exclude' | 'include' }>): Promise<number> {
    try {
      // A program that is not there is said so before (and without) asking the helper.
      if ('run' in command) findProgram(command.run.command, this.io.env.PATH);
      return await runExclude(await this.connect(), command, { ...this.io, json: this.inv.json, release: () => this.dispose() });
    } catch (e) {
      if (e instanceof ExcludeFailure || e instanceof LaunchError) throw new CliFailure(e.message);
      throw e;
    }
  }

  private async disconnectTunnel(): Promise<number> {
    const client = await this.connect();
    const waitMs = this.io.disconnectWaitMs ?? 10_000;
    const { status, timedOut } = await waitForState(client, () => client.call('disconnect'), (s) => s.state === 'disconnected' || s.state === 'error', waitMs);
    this.print(status, () => formatStatus(status, undefined, this.now()));
    if (status.state === 'disconnected') return EXIT_OK;
    if (timedOut) this.io.err(`umbra: still ${status.state} after ${duration(waitMs)}: see umbra status`);
    return EXIT_FAILED;
  }
}

/**
 * Subscribes, runs `kick` (the call that changes the state), then waits until a status after its
 * reply satisfies `done`, or `timeoutMs` passes (then the latest status). Rejects when the
 * connection is lost meanwhile.
 */
async function waitForState(
  client: IpcClient,
  kick: () => Promise<TunnelStatus>,
  done: (s: TunnelStatus) => boolean,
  timeoutMs: number,
): Promise<{ status: TunnelStatus; timedOut: boolean }> {
  let armed = false;
  let latest: TunnelStatus | undefined;
  let finish: ((s: TunnelStatus) => void) | undefined;
  const onEvent = (e: HelperEvent) => {
    if (!armed || e.type !== 'status') return;
    latest = e.status;
    if (done(e.status)) finish?.(e.status);
  };
  await client.subscribe(onEvent);
  const first = await kick();
  armed = true;
  latest = first;
  if (done(first)) return { status: first, timedOut: false };
  return new Promise((resolve, reject) => {
    const onClose = (reason: Error | undefined) => {
      clearTimeout(timer);
      reject(reason ?? new IpcError('closed', 'the connection to the Umbra helper was closed'));
    };
    const timer = setTimeout(() => {
      client.off('close', onClose);
      resolve({ status: latest!, timedOut: true });
    }, timeoutMs);
    finish = (s) => {
      clearTimeout(timer);
      client.off('close', onClose);
      resolve({ status: s, timedOut: false });
    };
    client.once('close', onClose);
  });
}

/** Whether a connect left the attempt as it was: same state (connected or connecting), server and start. */
function sameAttempt(before: TunnelStatus, after: TunnelStatus): boolean {
  if (before.state !== after.state || (before.state !== 'connected' && before.state !== 'connecting')) return false;
  return before.server?.id === after.server?.id && before.connectedSince === after.connectedSince;
}

const duration = (ms: number): string => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`);

/** The helper's latency figures, measured now (it answers within a few seconds); a failure becomes the reason there are none. */
async function measureLatency(client: IpcClient): Promise<ServersLatency> {
  try {
    return { report: await client.call('measureLatency', {}) };
  } catch (e) {
    // What the helper answered (an older helper without the method, a failure): the table still
    // shows, saying why. A lost connection is the command's failure.
    if (!(e instanceof RpcError)) throw e;
    return { error: e.message };
  }
}
