// What every Chromium test of quantscope shares (the page tests in tests/browser/, the npm
// package tests in tests/npm/): the browser's flags and the rule that no request leaves
// 127.0.0.1. No imports: each test folder brings its own playwright-core.

/** Flags for a headless Chromium in a container: no GPU, no background traffic. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage'];

/** True for URLs served by 127.0.0.1 (also blob:/data: URLs, which never leave the page). */
export function isLocal(url) {
  if (url.startsWith('data:')) return true;
  try {
    const u = new URL(url.startsWith('blob:') ? url.slice(5) : url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname === '127.0.0.1';
  } catch {
    return false;
  }
}
