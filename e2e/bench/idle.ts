// `node dist/e2e/bench/idle.js PID [SECONDS]`: the idle figures of a running process (its
// wakeups a second over all threads, the processes it spawns), as the bench measures them.
import { measureIdle } from './procfs.js';

const [pidArg, secondsArg = '60'] = process.argv.slice(2);
const pid = Number(pidArg);
const seconds = Number(secondsArg);
if (!Number.isInteger(pid) || pid <= 0 || !(seconds > 0)) {
  console.error('usage: node dist/e2e/bench/idle.js PID [SECONDS]');
  process.exit(2);
}
measureIdle(pid, seconds * 1000).then((r) => console.log(JSON.stringify(r, null, 2)), (e: Error) => {
  console.error(e.message);
  process.exit(1);
});
