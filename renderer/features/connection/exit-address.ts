// What the card says of the exit address: what the helper measured through the tunnel
// (status.measuredExit), never the catalog's exitIp as if it were measured.
import type { TunnelStatus } from '../../api.js';

export interface ExitWords {
  /** The value in the card's "Exit IP" row. */
  shown: string;
  /** A line under the figures: how it is known, or why it is not. */
  note?: string;
  /** The catalog names another address than the internet sees. */
  mismatch?: { catalog: string; seen: string };
  /** The internet sees this machine's own address: the traffic does not go through the tunnel. */
  outside?: string;
}

export function exitWords(status: TunnelStatus): ExitWords {
  if (status.state !== 'connected') return { shown: '—' };
  const catalog = status.server?.exitIp;
  const m = status.measuredExit;
  // A helper that measures nothing: the catalog's address, said to be the catalog's.
  if (!m) return catalog ? { shown: `${catalog} (catalog)`, note: 'From the catalog, not measured: run the leak check to see what the internet sees.' } : { shown: '—' };
  switch (m.state) {
    case 'measuring':
      return { shown: 'measuring…' };
    case 'unmeasurable':
      return {
        shown: 'could not measure',
        note: `No IP-echo service answered through the tunnel${catalog ? `; the catalog says ${catalog}, unconfirmed` : ''}.`,
      };
    case 'measured': {
      const seen = [m.ipv4, m.ipv6].filter((a) => a !== undefined).join(', ');
      if (m.outsideTunnel) return { shown: seen, outside: seen };
      if (m.matchesCatalog === false && catalog) return { shown: seen, mismatch: { catalog, seen } };
      return { shown: seen };
    }
  }
}
