// What "allow LAN" lets through: the private and link-local ranges, plus the subnets this
// machine is directly attached to outside the tunnel (a LAN may use any range; the kernel's
// connected routes say which it is).
import type { CommandRunner } from '../platform/exec.js';

export const PRIVATE_PREFIXES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'];

interface JsonRoute {
  dst?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
}

/** Connected subnets (kernel routes of scope link) not on a tunnel interface. */
export async function connectedPrefixes(run: CommandRunner, isTunnel: (dev: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  for (const family of ['-4', '-6']) {
    try {
      const { stdout } = await run.run(['ip', '-j', family, 'route', 'show', 'table', 'main', 'proto', 'kernel']);
      for (const r of JSON.parse(stdout || '[]') as JsonRoute[]) {
        if (!r.dst || r.dst === 'default' || !r.dev || isTunnel(r.dev)) continue;
        if (r.dst.startsWith('fe80:')) continue; // covered by fe80::/10
        out.push(r.dst.includes('/') ? r.dst : `${r.dst}/${family === '-4' ? 32 : 128}`);
      }
    } catch {
      // No IPv6 on this machine, or no routes: nothing to add.
    }
  }
  return out;
}

export async function lanPrefixes(run: CommandRunner, isTunnel: (dev: string) => boolean): Promise<string[]> {
  const connected = await connectedPrefixes(run, isTunnel);
  return [...new Set([...PRIVATE_PREFIXES, ...connected])];
}
