// The resolv.conf backup is written atomically (never resolv.conf itself: see resolv-conf.ts).
export { fsyncDir, writeFileAtomic } from '../fs/atomic-file.js';
