// The state dir's files are written atomically (platform/fs); FsHooks is the test seam.
export { removeStaleTempFiles, writeFileAtomic, type AtomicWriteOptions as FsHooks } from '../../platform/fs/atomic-file.js';
