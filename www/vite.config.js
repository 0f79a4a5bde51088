import { defineConfig } from 'vite';

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
  server: { headers: isolation },
  preview: { headers: isolation },
});
