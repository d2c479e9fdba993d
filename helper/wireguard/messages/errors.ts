// One named error for a message of the wrong length (DESIGN.md convention 3).
export class MessageLengthError extends Error {
  constructor(readonly messageType: string, readonly expected: string, readonly actual: number) {
    super(`${messageType}: expected ${expected} bytes, got ${actual}`);
    this.name = 'MessageLengthError';
  }
}
