// The handlers that bring servers in: a wg-quick config and a catalog. Both take what the client
// sent (text, or a catalog URL): the helper never opens a path a caller names, so nothing here
// can tell a caller whether some file exists, is JSON or what it holds.
import type { Handlers, HelperEvent, ServerInfo } from '../ipc/schema.js';
import type { ImportResult } from './store/state-store.js';

/** The part of the state store these handlers use. */
export interface ImportStore {
  importConfig(text: string, name?: string): Promise<ImportResult>;
  loadCatalogFrom(source: { text: string } | { url: string }): Promise<ServerInfo[]>;
  servers(): ServerInfo[];
}

export interface ImportHandlerDeps {
  store: ImportStore;
  emit: (e: HelperEvent) => void;
  /** Runs the user's commands one at a time (the daemon's queue). */
  one: <T>(task: () => Promise<T>) => Promise<T>;
}

export function importHandlers({ store, emit, one }: ImportHandlerDeps): Pick<Handlers, 'importConfig' | 'loadCatalog'> {
  return {
    importConfig: (p) =>
      one(async () => {
        const { server, notes } = await store.importConfig(p.text, p.name);
        emit({ type: 'servers', servers: store.servers() });
        return { server, notes };
      }),
    loadCatalog: (p) =>
      one(async () => {
        await store.loadCatalogFrom('text' in p ? { text: p.text } : { url: p.url });
        const servers = store.servers();
        emit({ type: 'servers', servers });
        return { servers };
      }),
  };
}
