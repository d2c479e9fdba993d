// The one owner of the firewall: the policy the current state wants, and what the kernel was
// last seen to hold. The state machine's driver sets the policy; the watchdog reports the kernel
// and restores `wanted` when someone removes or edits it; status reports `kernel`, never `wanted`.
import type { FirewallKind } from '../ipc/schema.js';
import type { FirewallSpec, TableState } from '../platform/firewall/firewall.js';

export type KernelKind = FirewallKind | 'foreign';

export interface FirewallLike {
  apply(spec: FirewallSpec): Promise<void>;
  remove(): Promise<void>;
  read(): Promise<TableState>;
}

export const kindOf = (spec: FirewallSpec | undefined): FirewallKind => (spec === undefined ? 'none' : spec.block ? 'block' : 'guard');

function kernelOf(t: TableState): KernelKind {
  if (!t.present) return 'none';
  if (t.block === undefined) return 'foreign';
  return t.block ? 'block' : 'guard';
}

const same = (a: FirewallSpec | undefined, b: FirewallSpec | undefined) => JSON.stringify(a) === JSON.stringify(b);

export class FirewallOwner {
  private wantedSpec: FirewallSpec | undefined;
  private kernelKind: KernelKind = 'none';

  constructor(
    private readonly fw: FirewallLike,
    /** The block to fall back on when a blocking spec cannot be built: it takes no input, so it always builds. */
    private readonly plainBlock: FirewallSpec,
    private readonly log: (line: string) => void,
    private readonly onChange: () => void,
  ) {}

  /** The set() running now, if any. */
  private inFlight: { spec: FirewallSpec | undefined; done: Promise<void> } | undefined;

  get wanted(): FirewallSpec | undefined {
    return this.wantedSpec;
  }

  get kernel(): KernelKind {
    return this.kernelKind;
  }

  /** Reads what the kernel holds (at start: a block left by a crash, or loaded at boot). */
  async readKernel(): Promise<KernelKind> {
    this.setKernel(kernelOf(await this.fw.read()));
    return this.kernelKind;
  }

  /**
   * Puts `spec` in the kernel (undefined: no table). A blocking spec that cannot be built falls
   * back to the plain block, so wanting a block never ends with none. Throws when the kernel
   * refuses (nft missing, no permission): the caller must not go on as if it held.
   */
  async set(spec: FirewallSpec | undefined): Promise<void> {
    // The same spec already on its way in (a connect sets its tunnel's policy ahead, then its step
    // sets it again): wait for that one instead of a second nft transaction. Any other waits for
    // the one in flight first, so "already what is wanted" is judged on what it left.
    if (this.inFlight && same(spec, this.inFlight.spec)) return this.inFlight.done;
    const before = this.inFlight?.done.catch(() => undefined);
    const done = (async () => {
      await before;
      if (same(spec, this.wantedSpec) && this.kernelKind === kindOf(spec)) return;
      await this.setNow(spec);
    })();
    this.inFlight = { spec, done };
    try {
      await done;
    } finally {
      if (this.inFlight?.done === done) this.inFlight = undefined;
    }
  }

  private async setNow(spec: FirewallSpec | undefined): Promise<void> {
    if (spec === undefined) {
      this.wantedSpec = undefined;
      await this.fw.remove();
      this.setKernel('none');
      return;
    }
    try {
      await this.fw.apply(spec);
      this.wantedSpec = spec;
    } catch (e) {
      if (!(spec.block && (e instanceof TypeError || e instanceof RangeError))) throw e;
      this.log(`the kill switch for this state could not be built (${e.message}); blocking everything instead`);
      await this.fw.apply(this.plainBlock);
      this.wantedSpec = this.plainBlock;
    }
    this.setKernel(kindOf(this.wantedSpec));
  }

  /** From the watchdog: whether the table is there (after a restore it is `wanted` again). */
  observe(present: boolean): void {
    if (!present) this.setKernel('none');
    else this.setKernel(this.wantedSpec ? kindOf(this.wantedSpec) : this.kernelKind === 'none' ? 'foreign' : this.kernelKind);
  }

  private setKernel(k: KernelKind): void {
    if (k === this.kernelKind) return;
    this.kernelKind = k;
    this.onChange();
  }
}
