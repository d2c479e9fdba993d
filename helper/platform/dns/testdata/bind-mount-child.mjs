// Child of resolv-conf.lab.test.ts. It runs inside `unshare -m` where the resolv.conf path (argv[2])
// is a bind mount of another file, or lies in a directory mounted read-only: it checks what
// rename() over it does, then runs the resolv.conf backend against it. Prints one JSON line with
// what it saw (an error from the backend as `error` and its cause's code).
//   node --import <ts-register.mjs> bind-mount-child.mjs <path> <stateDir> apply|apply-undo|recover|start-recover
import { readFileSync, rmSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chooseDnsBackend } from '../choose.js';
import { resolvConfBackend } from '../resolv-conf.js';

const [path, stateDir, mode] = process.argv.slice(2);
const out = {};

// What a temporary-file-and-rename writer would run into here.
const tmp = join(dirname(path), `.rename-probe-${process.pid}`);
try {
  writeFileSync(tmp, 'probe\n');
  renameSync(tmp, path);
  out.renameError = null;
} catch (e) {
  out.renameError = e.code;
} finally {
  rmSync(tmp, { force: true });
}

const backend = resolvConfBackend({ path, stateDir, log: (l) => (out.log ??= []).push(l) });
try {
  if (mode === 'recover') {
    out.recovered = await backend.recover();
  } else if (mode === 'start-recover') {
    // What the helper does at start: the chosen backend's recover(), which must not throw.
    const noCommands = { run: async () => ({ stdout: '', stderr: '' }) };
    const chosen = await chooseDnsBackend({ mode: 'resolv-conf', resolvConfPath: path, stateDir, run: noCommands, log: (l) => (out.log ??= []).push(l) });
    out.recovered = await chosen.recover();
  } else {
    const undo = await backend.apply({ interfaceName: 'umbra0', servers: ['100.64.0.1'], searchDomains: ['lab.example'] });
    out.during = readFileSync(path, 'utf8');
    if (mode === 'apply-undo') await undo();
  }
} catch (e) {
  out.error = e.message;
  out.cause = e.cause?.code;
}
out.after = readFileSync(path, 'utf8');
process.stdout.write(`${JSON.stringify(out)}\n`);
