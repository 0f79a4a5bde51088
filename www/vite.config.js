import { defineConfig, searchForWorkspaceRoot } from 'vite';

// COOP/COEP make the page crossOriginIsolated, which the threaded engine needs (SharedArrayBuffer).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export default defineConfig({
  // Relative URLs: dist/ works from any path on any static host.
  base: './',
  // quantscope loads its worker and wasm with new URL(..., import.meta.url): do not pre-bundle it.
  optimizeDeps: { exclude: ['quantscope'] },
  worker: { format: 'es' },
  build: { target: 'esnext' },
  server: {
    headers: isolation,
    // "quantscope": "file:../pkg" is a symlink that resolves outside www/: let the dev server
    // serve it (an install from the registry lives in node_modules and needs nothing).
    fs: { allow: [searchForWorkspaceRoot(process.cwd()), '../pkg'] },
  },
  preview: { headers: isolation },
});
