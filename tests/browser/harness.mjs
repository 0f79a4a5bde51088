// Shared set-up for the page tests: the static server (scripts/serve.mjs), Chromium, screenshots.
// Environment:
//   QUANTSCOPE_WWW_DIST  the built page (default: www/dist of this repository)
//   QUANTSCOPE_EXPECT_MT 1 if the page must use the threaded build when crossOriginIsolated,
//                        0 if not; default: 1 when www/dist/assets holds two .wasm files (st + mt)
//   CHROMIUM             browser executable (default /usr/bin/chromium)
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from '../../scripts/serve.mjs';
import { CHROMIUM_ARGS, isLocal } from '../js/chromium.mjs';

export { CHROMIUM_ARGS, isLocal };

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const dist = path.resolve(process.env.QUANTSCOPE_WWW_DIST ?? path.join(repo, 'www', 'dist'));
export const samples = path.join(repo, 'samples');
export const screenshots = path.join(repo, 'test-output', 'screenshots');

/** Whether the built page contains a real threaded build. */
export function expectMt() {
  if (process.env.QUANTSCOPE_EXPECT_MT != null) return process.env.QUANTSCOPE_EXPECT_MT === '1';
  const assets = path.join(dist, 'assets');
  if (!existsSync(assets)) return false;
  return readdirSync(assets).filter((f) => f.endsWith('.wasm')).length >= 2;
}

export function checkInputs() {
  if (!existsSync(path.join(dist, 'index.html'))) {
    throw new Error(`${dist}/index.html is missing: build the page (cd www && npm install && npx vite build) or set QUANTSCOPE_WWW_DIST`);
  }
}

/** Serves the page on a free port of 127.0.0.1; resolves to { url, close }. */
export function startServer({ isolation }) {
  return serve({ root: dist, port: 0, host: '127.0.0.1', isolation });
}

/** playwright's launch() gives every browser a fresh temporary --user-data-dir. */
export function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}


export async function screenshot(page, name) {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });
}

/**
 * Screenshot of one element (e.g. a panel section), into the same folder. `style`: CSS applied
 * while shooting (e.g. to keep a sticky bar from covering the element).
 */
export async function screenshotOf(page, selector, name, { style } = {}) {
  mkdirSync(screenshots, { recursive: true });
  await page.locator(selector).screenshot({ path: path.join(screenshots, `${name}.png`), style });
}

/**
 * Init script recording every main-thread long task (Long Tasks API) into
 * window.__longTasks as { start, duration } (ms), from the first moment of the page.
 */
export function recordLongTasks() {
  globalThis.__longTasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) globalThis.__longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch {
    globalThis.__longTasks = null; // no Long Tasks API in this browser
  }
}

/** launch() with extra Chromium flags (e.g. a fake camera for the webcam input). */
export function launchWith(extraArgs) {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/**
 * The page served with or without COOP/COEP in a fresh browser, opened at `hash`:
 * `{ server, browser, context, page, requests, pageErrors, close }`. `requests` collects every
 * URL the context asks for (workers included), `pageErrors` the uncaught errors; with
 * `longTasks` the Long Tasks API records into `window.__longTasks` from the first script on.
 */
export async function openPage({ isolation = true, viewport = { width: 1280, height: 800 }, hash = '', longTasks = false } = {}) {
  const server = await startServer({ isolation });
  const browser = await launch();
  const context = await browser.newContext({ viewport });
  const requests = [];
  const pageErrors = [];
  context.on('request', (r) => requests.push(r.url()));
  if (longTasks) await context.addInitScript(recordLongTasks);
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${server.url}${hash}`);
  const close = async () => {
    await browser.close();
    await server.close();
  };
  return { server, browser, context, page, requests, pageErrors, close };
}
