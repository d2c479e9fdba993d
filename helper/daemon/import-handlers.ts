// The handlers that bring servers in: a wg-quick config and a catalog. Both take what the client
// sent (text, or a catalog URL): the helper never opens a path a caller names, so nothing here
// can tell a caller whether some file exists, is JSON or what it holds. A catalog URL is fetched
// only through the safe fetch (https, public addresses) and must be signed by the key the user
// pinned, or explicitly allowed unsigned (catalog-source.ts, catalog-signature.ts).
import type { Handlers, HelperEvent, ServerInfo } from '../ipc/schema.js';
import type { SafeGet } from '../platform/net/safe-fetch.js';
import { readCatalog } from './store/catalog-source.js';
import type { ImportResult } from './store/state-store.js';

/** The part of the state store these handlers use. */
interface ImportStore {
  importConfig(text: string, name?: string): Promise<ImportResult>;
  /** Replaces the catalog servers with those of a catalog's parsed JSON. */
  loadCatalog(json: unknown): Promise<ServerInfo[]>;
  servers(): ServerInfo[];
}

export interface ImportHandlerDeps {
  store: ImportStore;
  emit: (e: HelperEvent) => void;
  /** Runs the user's commands one at a time (the daemon's queue). */
  one: <T>(task: () => Promise<T>) => Promise<T>;
  /** The fetch for catalog URLs (default: the helper's safe fetch); tests pass their own. */
  get?: SafeGet;
}

export function importHandlers({ store, emit, one, get }: ImportHandlerDeps): Pick<Handlers, 'importConfig' | 'loadCatalog'> {
  return {
    importConfig: (p) =>
      one(async () => {
        const { server, notes } = await store.importConfig(p.text, p.name);
        emit({ type: 'servers', servers: store.servers() });
        return { server, notes };
      }),
    // The download and the signature check run outside the queue: a slow catalog server must not
    // hold up a connect or a disconnect behind it for its 10 s.
    loadCatalog: async (p) => {
      const { json, trust } = await readCatalog(p, get);
      return one(async () => {
        await store.loadCatalog(json);
        const servers = store.servers();
        emit({ type: 'servers', servers });
        return { servers, trust };
      });
    },
  };
}
