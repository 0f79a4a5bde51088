#!/usr/bin/env node
// Browser benchmark of quantscope in headless Chromium (playwright-core, /usr/bin/chromium).
//   node bench/run.mjs [--runs 20] [--warmup 3] [--out bench/results.json]
// Serves the repository root (bench/, pkg/, models/, samples/) on 127.0.0.1 with COOP/COEP,
// opens bench/index.html for the single-threaded build (threads=1) and, if pkg/mt holds a real
// threaded build, for 2 threads; writes results.json and prints a table.
// Environment:
//   QUANTSCOPE_ROOT    directory served as / (default: the repository root, bench/..)
//   CHROMIUM           browser executable (default /usr/bin/chromium)
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from '../scripts/serve.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(process.env.QUANTSCOPE_ROOT ?? path.join(here, '..'));
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

function parseArgs(argv) {
  const o = { runs: 20, warmup: 3, out: path.join(here, 'results.json'), timeout: 600_000 };
  for (let i = 0; i < argv.length; i++) {
    const v = () => argv[++i];
    if (argv[i] === '--runs') o.runs = Number(v());
    else if (argv[i] === '--warmup') o.warmup = Number(v());
    else if (argv[i] === '--out') o.out = path.resolve(v());
    else if (argv[i] === '--timeout') o.timeout = Number(v()) * 1000;
    else {
      console.error('usage: node bench/run.mjs [--runs N] [--warmup N] [--out FILE] [--timeout SECONDS]');
      process.exit(2);
    }
  }
  return o;
}

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage'];

async function benchOne(browser, base, threads, o) {
  // A new context per configuration: a fresh profile state, no cached wasm or model.
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.error(`  [page] ${m.text()}`); });
  page.on('pageerror', (e) => console.error(`  [page] ${e.message}`));
  try {
    await page.goto(new URL(`bench/index.html?threads=${threads}&runs=${o.runs}&warmup=${o.warmup}`, base).href);
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null,
      { timeout: o.timeout });
    const r = await page.evaluate(() => window.__quantscopeBench);
    if (r.error) throw new Error(`bench page (threads=${threads}) failed: ${r.error}`);
    return r;
  } finally {
    await context.close();
  }
}

const o = parseArgs(process.argv.slice(2));
for (const need of ['pkg/index.js', 'pkg/st/quantscope_bg.wasm', 'models/efficientnet-lite0.onnx', 'samples/coffee.png']) {
  if (!existsSync(path.join(root, need))) {
    console.error(`bench: ${path.join(root, need)} is missing (build pkg/st, run make models)`);
    process.exit(1);
  }
}
const haveMt = existsSync(path.join(root, 'pkg/mt/quantscope_bg.wasm'));
const server = await serve({ root, port: 0, host: '127.0.0.1', isolation: true });
const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
const results = [];
let failed = false;
try {
  const configs = [1];
  if (haveMt) configs.push(2);
  else console.log('bench: pkg/mt/quantscope_bg.wasm not found: skipping the threaded build (threads=2)');
  for (const threads of configs) {
    console.log(`bench: threads=${threads}, ${o.warmup} warm-up + ${o.runs} runs…`);
    const r = await benchOne(browser, server.url, threads, o);
    if (threads > 1 && r.build !== 'simd-threads') {
      console.error(`bench: threads=${threads} fell back to the single-threaded build: ${r.fallback_reason}`);
      failed = true;
      continue;
    }
    results.push(r);
  }
} finally {
  await browser.close();
  server.close();
}
await writeFile(o.out, `${JSON.stringify(results, null, 2)}\n`);
const row = (cells) => cells.map((c, i) => String(c).padStart(i ? 14 : 12)).join(' ');
console.log(row(['build', 'threads', 'median ms', 'median wall', 'first pred ms', 'top-1']));
for (const r of results) {
  console.log(row([r.build, r.threads, r.median_ms.toFixed(1), r.median_wall_ms.toFixed(1),
    r.time_to_first_prediction_ms.toFixed(0), r.top1.label]));
}
console.log(`bench: wrote ${o.out}`);
process.exit(failed ? 1 : 0);
