import { describe, expect, it } from 'vitest';
import { CommandError, systemRunner } from './exec.js';

// Uses only harmless programs of every Linux/macOS system (no network, no changes).
describe('systemRunner', () => {
  it('returns stdout and stderr of a command that exits 0, passing arguments without a shell', async () => {
    const r = await systemRunner.run(['printf', '%s|', 'a b', '$HOME', '*']);
    expect(r).toEqual({ stdout: 'a b|$HOME|*|', stderr: '' });
  });

  it('feeds input on stdin', async () => {
    expect((await systemRunner.run(['cat'], { input: 'hello\nworld' })).stdout).toBe('hello\nworld');
  });

  it('throws a CommandError with argv, exit code and stderr on a non-zero exit', async () => {
    const err = await systemRunner.run(['sh', '-c', 'echo oops >&2; exit 3']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ argv: ['sh', '-c', 'echo oops >&2; exit 3'], exitCode: 3, stderr: 'oops\n' });
    expect((err as Error).message).toBe('sh -c echo oops >&2; exit 3: exited with 3: oops');
  });

  it('throws a CommandError when the program does not exist', async () => {
    const err = await systemRunner.run(['/nonexistent/umbra-no-such-program']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ exitCode: null });
    expect((err as Error).message).toMatch(/could not be started \(.*ENOENT/);
  });

  it('rejects an empty argv', async () => {
    await expect(systemRunner.run([])).rejects.toThrow(TypeError);
  });

  it('does not crash when the program ignores its input', async () => {
    await expect(systemRunner.run(['true'], { input: 'x'.repeat(1 << 20) })).resolves.toEqual({ stdout: '', stderr: '' });
  });
});
