// The address the internet sees without the VPN, which the public-IP check compares with. The
// helper looks it up in the background whenever it is disconnected and nothing is blocked: at start
// and after each disconnect (and when the echo settings change). It never looks while a block is up
// or the user wants to be connected, and it throws away an answer that arrives after a connect began.
import type { TunnelStatus } from '../ipc/schema.js';

export interface Sighting {
  address: string;
  /** Epoch milliseconds. */
  at: number;
  url: string;
}

export interface PreVpnDeps {
  /** The first answer of the IPv4 echo services (undefined: none answered). */
  probe4(): Promise<{ address: string; url: string } | undefined>;
  /** The same over IPv6 (undefined: none configured or none answered). */
  probe6(): Promise<{ address: string; url: string } | undefined>;
  /** Whether looking is allowed now: disconnected, not wanting a connection, nothing blocked. */
  allowed(): boolean;
  now(): number;
  log(line: string): void;
}

export class PreVpnMemory {
  v4: Sighting | undefined;
  v6: Sighting | undefined;
  /** Bumped whenever looking stops being allowed; an answer from an older generation is dropped. */
  private generation = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private last: { state: TunnelStatus['state']; blocked: boolean } | undefined;

  constructor(private readonly deps: PreVpnDeps) {}

  /** Told every status the helper pushes. */
  onStatus(s: TunnelStatus): void {
    const prev = this.last;
    this.last = { state: s.state, blocked: s.blocked };
    if (s.state !== 'disconnected' || s.blocked) {
      this.generation++;
      return;
    }
    if (prev && (prev.state !== 'disconnected' || prev.blocked)) this.probeSoon();
  }

  /** Looks in the background (once more after the current look, if one is under way). */
  probeSoon(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.look()
      .catch((e: unknown) => this.deps.log(`leak check: looking up the address without the VPN failed: ${(e as Error).message}`))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.probeSoon();
        }
      });
  }

  /** Resolves when no look is under way (for tests and orderly stops). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Keeps what a leak check saw while looking was allowed (disconnected, nothing blocked). */
  remember(v4: { address: string; url: string } | undefined, v6: { address: string; url: string } | undefined): void {
    if (!this.deps.allowed()) return;
    const at = this.deps.now();
    if (v4) this.v4 = { ...v4, at };
    if (v6) this.v6 = { ...v6, at };
  }

  private async look(): Promise<void> {
    if (!this.deps.allowed()) return;
    const gen = this.generation;
    const [v4, v6] = await Promise.all([this.deps.probe4().catch(() => undefined), this.deps.probe6().catch(() => undefined)]);
    // A connect (or a block) since the look began: the answer may have come through the tunnel.
    if (gen !== this.generation || !this.deps.allowed()) return;
    const at = this.deps.now();
    if (v4) this.v4 = { ...v4, at };
    if (v6) this.v6 = { ...v6, at };
  }
}
