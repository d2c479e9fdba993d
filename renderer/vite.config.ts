// The renderer's build: `vite build --config renderer/vite.config.ts` → renderer/dist, with
// relative URLs (base './') so it loads from file:// in Electron and from a local HTTP host.
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/** This folder, as a path (no node:* imports here: the renderer's lint rules hold for this file too). */
const root = decodeURIComponent(new URL('.', import.meta.url).pathname).replace(/^\/([A-Za-z]:)/, '$1');

/**
 * The dev server injects an inline script (React refresh) and inline styles (CSS hot reload),
 * which the page's strict CSP forbids: drop the CSP meta in `vite serve` only. Builds keep it.
 */
function devWithoutCsp(): Plugin {
  return {
    name: 'umbra-dev-without-csp',
    apply: 'serve',
    transformIndexHtml: (html) => html.replace(/<meta\s+http-equiv="Content-Security-Policy"[^>]*>/s, ''),
  };
}

export default defineConfig({
  root,
  base: './',
  plugins: [react(), devWithoutCsp()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Everything from this origin: no inlined data: scripts, no remote anything.
    assetsInlineLimit: 0,
    sourcemap: true,
  },
  server: { host: '127.0.0.1', strictPort: false },
  preview: { host: '127.0.0.1' },
});
