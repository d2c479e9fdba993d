// The helper's persistent state (settings, profiles, servers, desired connection state).
export { DEFAULT_STATE_DIR, StateStore, type StateStoreOptions } from './state-store.js';
export { CATALOG_TIMEOUT_MS, MAX_CATALOG_BYTES, parseCatalog, type CatalogEntry } from './catalog.js';
export type { FsHooks } from './atomic-file.js';
export { PROFILES_FILE, SERVERS_FILE, SETTINGS_FILE, STATE_FILE } from './files.js';
