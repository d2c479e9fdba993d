// The one way the helper fetches a URL a caller gave it (catalogs, IP-echo services, the DNS
// leak-test API): GET over https to public addresses only (address-policy.ts), with a cap on size
// and on time, and errors that never carry a byte of the answer.
//
// - The name is resolved once, every answer is checked (one refused answer refuses the URL: a
//   public name has no business answering 10.0.0.1), and the connection goes to the address that
//   was checked — the socket is handed the address itself, so no second lookup can swap it —
//   while TLS SNI, the certificate check and Host stay the name.
// - An address on one of this machine's own networks is refused too, whatever its numbers: a LAN
//   numbered from public space (the lab's is 198.51.100.0/24) is still the LAN and its router.
// - Redirects are followed by hand, at most `maxRedirects`, each one checked like the first.
// - The lab allowance: the project's network lab builds its "internet" from documentation ranges
//   and serves plain http. With `lab: true` those ranges pass, and http:// is accepted to them (and
//   only to them). The helper takes it from ITS OWN environment, UMBRA_LAB_NETWORKS=1, which the
//   lab sets when it starts the helper and the systemd unit never does; a caller over the socket
//   cannot change the helper's environment, so it cannot turn the allowance on.
import http from 'node:http';
import https from 'node:https';
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { checkAddress, onLocalNetwork, type LocalNetwork } from './address-policy.js';

const LAB_NETWORKS_ENV = 'UMBRA_LAB_NETWORKS';

/** Whether the helper's environment grants the lab allowance. */
export function labNetworksFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[LAB_NETWORKS_ENV] === '1';
}

export type SafeFetchErrorCode = 'bad-url' | 'refused' | 'resolve' | 'network' | 'timeout' | 'too-large' | 'status' | 'redirects';

/** A failure that says what went wrong and where, never what the server sent. */
export class SafeFetchError extends Error {
  constructor(readonly code: SafeFetchErrorCode, message: string, readonly status?: number) {
    super(message);
    this.name = 'SafeFetchError';
  }
}

export interface Resolved {
  address: string;
  family: 4 | 6;
}

export interface SafeFetchOptions {
  /** The lab allowance (see above). Default: from the helper's environment. */
  lab?: boolean;
  /** Resolves a host name to every address it has (default: the system resolver). */
  resolve?: (host: string, family: 4 | 6 | undefined) => Promise<Resolved[]>;
  /** This machine's own networks, refused whatever their numbers (default: its interfaces now). */
  localNetworks?: () => LocalNetwork[];
  /**
   * Tests only: where to really connect for an address that passed the policy (a local test
   * server stands in for a public one). Never set by the helper.
   */
  dialOverride?: (checked: Resolved) => Resolved;
}

interface GetOptions {
  timeoutMs: number;
  maxBytes: number;
  /** Only this address family (a name's A or AAAA answers; a literal must be of it). */
  family?: 4 | 6;
  accept?: string;
  maxRedirects?: number;
}

interface GetResult {
  body: Buffer;
  /** The URL that answered (after redirects), without credentials, query or fragment. */
  url: string;
  contentType?: string;
}

export type SafeGet = (url: string, opts: GetOptions) => Promise<GetResult>;

/** The URL as messages show it: no credentials, query or fragment. */
function shownUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

async function systemResolve(host: string, family: 4 | 6 | undefined): Promise<Resolved[]> {
  const all = await dnsLookup(host, { all: true, verbatim: true, ...(family ? { family } : {}) });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
}

function systemNetworks(): LocalNetwork[] {
  const out: LocalNetwork[] = [];
  for (const [name, list] of Object.entries(networkInterfaces())) {
    for (const a of list ?? []) if (a.cidr) out.push({ name, cidr: a.cidr });
  }
  return out;
}

export function createSafeFetch(options: SafeFetchOptions = {}): SafeGet {
  const lab = () => options.lab ?? labNetworksFromEnv();
  const resolve = options.resolve ?? systemResolve;
  const localNetworks = options.localNetworks ?? systemNetworks;

  /** Resolves and checks one hop; returns the address to connect to. */
  async function admit(url: URL, family: 4 | 6 | undefined): Promise<Resolved> {
    const where = shownUrl(url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new SafeFetchError('bad-url', `${where}: only https:// URLs are fetched`);
    }
    if (url.username || url.password) throw new SafeFetchError('bad-url', `${where}: a URL with a user name or password is not fetched`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let answers: Resolved[];
    if (isIP(host) !== 0) {
      const f = isIP(host) as 4 | 6;
      if (family !== undefined && f !== family) throw new SafeFetchError('bad-url', `${where}: ${host} is not an IPv${family} address`);
      answers = [{ address: host, family: f }];
    } else {
      try {
        answers = (await resolve(host, family)).filter((a) => family === undefined || a.family === family);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new SafeFetchError('resolve', `${where}: cannot resolve ${host}${code ? ` (${code})` : ''}`);
      }
      if (answers.length === 0) throw new SafeFetchError('resolve', `${where}: ${host} has no IPv${family ?? 4} address`);
    }
    const allowLab = lab();
    for (const a of answers) {
      const v = checkAddress(a.address, { lab: allowLab });
      if (!v.ok) {
        const named = isIP(host) === 0 ? `${host} resolves to ${a.address}, ` : `${a.address} is `;
        throw new SafeFetchError('refused', `${where}: refused: ${named}${v.why}; the helper fetches only from public addresses`);
      }
      const local = onLocalNetwork(a.address, localNetworks());
      if (local) {
        const named = isIP(host) === 0 ? `${host} resolves to ${a.address}, ` : `${a.address} is `;
        throw new SafeFetchError('refused', `${where}: refused: ${named}on this machine's own network (${local.name} ${local.cidr}); the helper fetches only from public addresses`);
      }
      if (url.protocol === 'http:' && v.kind !== 'lab') {
        throw new SafeFetchError('refused', `${where}: refused: only https:// URLs are fetched`);
      }
    }
    const chosen = answers[0]!;
    return options.dialOverride ? options.dialOverride(chosen) : chosen;
  }

  /**
   * One request to a checked address; resolves with the response head, or rejects. The socket is
   * given the address itself (an IP literal: node does no lookup of its own), while the Host
   * header and TLS (SNI and the certificate's name) use the URL's name.
   */
  function request(url: URL, to: Resolved, opts: GetOptions, signal: AbortSignal): Promise<http.IncomingMessage> {
    const name = url.hostname.replace(/^\[|\]$/g, '');
    const tls = url.protocol === 'https:';
    return new Promise((resolveRes, reject) => {
      const req = (tls ? https : http).request({
        method: 'GET',
        protocol: url.protocol,
        host: to.address,
        family: to.family,
        port: url.port || (tls ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        agent: false,
        signal,
        ...(tls && isIP(name) === 0 ? { servername: name } : {}),
        headers: { host: url.host, accept: opts.accept ?? '*/*', 'user-agent': 'umbrad', 'cache-control': 'no-store' },
      });
      req.on('response', resolveRes);
      req.on('error', reject);
      req.end();
    });
  }

  return async function safeGet(urlText: string, opts: GetOptions): Promise<GetResult> {
    let url: URL;
    try {
      url = new URL(urlText);
    } catch {
      throw new SafeFetchError('bad-url', 'not a valid URL');
    }
    const signal = AbortSignal.timeout(opts.timeoutMs);
    const first = shownUrl(url);
    const timedOut = () => new SafeFetchError('timeout', `${first}: no complete answer within ${opts.timeoutMs / 1000} s`);
    const maxRedirects = opts.maxRedirects ?? 3;
    for (let hop = 0; ; hop++) {
      const to = await Promise.race([
        admit(url, opts.family),
        new Promise<never>((_, reject) => {
          if (signal.aborted) reject(timedOut());
          signal.addEventListener('abort', () => reject(timedOut()), { once: true });
        }),
      ]);
      let res: http.IncomingMessage;
      try {
        res = await request(url, to, opts, signal);
      } catch (e) {
        if (signal.aborted) throw timedOut();
        const code = (e as NodeJS.ErrnoException).code;
        throw new SafeFetchError('network', `${shownUrl(url)}: cannot connect${code ? ` (${code})` : ''}`);
      }
      const status = res.statusCode ?? 0;
      if (REDIRECTS.has(status)) {
        res.destroy();
        const location = res.headers.location;
        if (hop >= maxRedirects) throw new SafeFetchError('redirects', `${first}: more than ${maxRedirects} redirect${maxRedirects === 1 ? '' : 's'}`);
        let next: URL;
        try {
          next = new URL(location ?? '', url);
        } catch {
          throw new SafeFetchError('redirects', `${shownUrl(url)}: redirected to something that is not a URL`);
        }
        if (!location) throw new SafeFetchError('redirects', `${shownUrl(url)}: redirected without a Location`);
        if (url.protocol === 'https:' && next.protocol !== 'https:') {
          throw new SafeFetchError('refused', `${shownUrl(url)}: refused a redirect from https to ${next.protocol}//`);
        }
        url = next;
        continue;
      }
      if (status < 200 || status > 299) {
        res.destroy();
        throw new SafeFetchError('status', `${shownUrl(url)}: the server answered HTTP ${status}`, status);
      }
      const declared = Number(res.headers['content-length'] ?? NaN);
      const tooLarge = () => new SafeFetchError('too-large', `${shownUrl(url)}: the answer is larger than ${opts.maxBytes} bytes`);
      if (declared > opts.maxBytes) {
        res.destroy();
        throw tooLarge();
      }
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        for await (const chunk of res as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > opts.maxBytes) {
            res.destroy();
            throw tooLarge();
          }
          chunks.push(chunk);
        }
      } catch (e) {
        if (e instanceof SafeFetchError) throw e;
        if (signal.aborted) throw timedOut();
        throw new SafeFetchError('network', `${shownUrl(url)}: the answer was cut off`);
      }
      if (signal.aborted) throw timedOut();
      const type = res.headers['content-type'];
      return { body: Buffer.concat(chunks), url: shownUrl(url), ...(type ? { contentType: type } : {}) };
    }
  };
}

let shared: SafeGet | undefined;

/** The helper's fetch, with the lab allowance from its own environment. */
export function helperFetch(): SafeGet {
  shared ??= createSafeFetch();
  return shared;
}
