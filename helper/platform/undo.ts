// Every system change returns an undo (DESIGN.md, convention 5). A ChangeSet keeps them in the
// order they were made and runs them in reverse; one failing undo does not stop the others.

export type Undo = () => Promise<void> | void;

export class ChangeSet {
  private readonly undos: { label: string; undo: Undo }[] = [];

  /** Records the undo of a change that has just been made. */
  add(label: string, undo: Undo): void {
    this.undos.push({ label, undo });
  }

  /** Makes a change and records its undo; nothing is recorded when the change throws. */
  async apply(label: string, change: () => Promise<Undo> | Undo): Promise<void> {
    this.add(label, await change());
  }

  get size(): number {
    return this.undos.length;
  }

  /** Runs every undo, newest first. Returns the failures (with their labels) instead of throwing. */
  async undoAll(): Promise<Error[]> {
    const failures: Error[] = [];
    while (this.undos.length > 0) {
      const { label, undo } = this.undos.pop()!;
      try {
        await undo();
      } catch (e) {
        failures.push(new Error(`undo "${label}" failed: ${(e as Error).message}`));
      }
    }
    return failures;
  }
}
