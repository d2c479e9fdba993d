// A long-lived program that runs one command per line it reads: each line is a JSON argv array,
// each answer one JSON line {code, stdout, stderr}. Tests start it once under `umbra exclude --`
// so that every command it runs is a new child of the excluded process (children stay excluded),
// and it can be asked again after the helper restarts.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const lines = createInterface({ input: process.stdin });
let queue = Promise.resolve();

function runOne(argv) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => resolve({ code: -1, stdout, stderr: e.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

lines.on('line', (line) => {
  queue = queue.then(async () => {
    let argv;
    try {
      argv = JSON.parse(line);
      if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) throw new Error('not a JSON array of strings');
    } catch (e) {
      process.stdout.write(`${JSON.stringify({ code: -1, stdout: '', stderr: `bad line: ${e.message}` })}\n`);
      return;
    }
    process.stdout.write(`${JSON.stringify(await runOne(argv))}\n`);
  });
});
lines.on('close', () => void queue.then(() => process.exit(0)));
