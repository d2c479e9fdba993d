// The store for React: one per app (or per test), handed down by context.
import { createContext, useContext, type ReactNode } from 'react';
import { useStore } from 'zustand';
import type { UmbraActions, UmbraState, UmbraStore } from './store.js';

const StoreContext = createContext<UmbraStore | null>(null);

export function StoreProvider({ store, children }: { store: UmbraStore; children: ReactNode }) {
  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>;
}

export function useUmbraStore(): UmbraStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useUmbra: no <StoreProvider> above this component');
  return store;
}

/** A slice of the state; the component re-renders when the slice changes (Object.is). */
export function useUmbra<T>(selector: (s: UmbraState & UmbraActions) => T): T {
  return useStore(useUmbraStore(), selector);
}

/** The actions (stable: they never change). */
export function useActions(): UmbraActions {
  return useUmbraStore().getState();
}
