#!/usr/bin/env node
// Training benchmark: the small Fashion-MNIST CNN (bench/train.js's ARCH: conv3x3(32)-BN-ReLU-
// maxpool2, conv3x3(64)-BN-ReLU-maxpool2, dense(128)-ReLU, dense(10), softmax cross-entropy, Adam,
// batch 64) trained on real Fashion-MNIST training images, in images/s:
//   native      `quantscope train` (target/release/quantscope), its printed images/s;
//   quantscope  the wasm CnnTrainer in a Worker of headless Chromium, pkg/st at 1 thread and pkg/mt
//               at 2 (crossOriginIsolated);
//   tfjs        TensorFlow.js (bench/node_modules/@tensorflow/tfjs) in a Worker of the same
//               Chromium, on each backend that can train there: cpu, webgl and webgpu (both on
//               SwiftShader: the machine has no GPU) and wasm (at 1 and 2 threads); a backend
//               that cannot train is reported with TF.js's error.
// and, as its own table, QAT as the page's QAT panel runs it:
//   qat         quantization-aware training of models/fmnist-cnn.onnx to --qat-variant (w4a4),
//               batch 64, through the npm package (pkg/index.js) and its worker, st at 1 thread
//               and mt at 2: images/s, and the time of one epoch (60,000 images) and of the page's
//               10,000-image training subset at that rate.
//   node bench/train.mjs [--engines native,quantscope,tfjs,qat] [--backends cpu,webgl,webgpu,wasm]
//                        [--threads 1,2] [--warmup 3] [--windows 5] [--window-ms 2000]
//                        [--images 6400] [--qat-variant w4a4] [--out bench/results.json]
//                        [--md bench/results.md] [--timeout SECONDS]
// Serves the repository root on 127.0.0.1 with COOP/COEP and opens bench/train.html once per
// (engine, backend, threads), each in a fresh browser context. Appends one row per measurement
// to results.json (each with the run's `run` id and `kind: "train"` or `"qat"`), and writes the tables
// (images/s, ratio to TF.js's fastest) as the "Training throughput" section of results.md, after
// the latency tables bench/run.mjs writes (replacing an earlier training section).
// Any request leaving the page's origin fails the run.
// Environment: QUANTSCOPE_ROOT (default bench/..), CHROMIUM (default /usr/bin/chromium),
//   QUANTSCOPE_BIN (default <root>/target/release/quantscope).
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from '../scripts/serve.mjs';
import { appendRows } from './history.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(process.env.QUANTSCOPE_ROOT ?? path.join(here, '..'));
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const DATA = '.cache/fashion-mnist';
const QAT_MODEL = 'models/fmnist-cnn.onnx';
const SECTION = '## Training throughput';
const GOAL = 1.5;

function parseArgs(argv) {
  const o = {
    engines: ['native', 'quantscope', 'tfjs', 'qat'], backends: ['cpu', 'webgl', 'webgpu', 'wasm'], threads: [1, 2],
    warmup: 3, windows: 5, windowMs: 2000, images: 6400, batch: 64, qatVariant: 'w4a4',
    out: path.join(here, 'results.json'), md: path.join(here, 'results.md'), timeout: 900_000,
  };
  const list = (s) => s.split(',').filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const v = () => argv[++i];
    if (argv[i] === '--engines') o.engines = list(v());
    else if (argv[i] === '--backends') o.backends = list(v());
    else if (argv[i] === '--threads') o.threads = list(v()).map(Number);
    else if (argv[i] === '--warmup') o.warmup = Number(v());
    else if (argv[i] === '--windows') o.windows = Number(v());
    else if (argv[i] === '--window-ms') o.windowMs = Number(v());
    else if (argv[i] === '--images') o.images = Number(v());
    else if (argv[i] === '--qat-variant') o.qatVariant = v();
    else if (argv[i] === '--out') o.out = path.resolve(v());
    else if (argv[i] === '--md') o.md = path.resolve(v());
    else if (argv[i] === '--timeout') o.timeout = Number(v()) * 1000;
    else {
      console.error('usage: node bench/train.mjs [--engines native,quantscope,tfjs,qat] [--backends cpu,webgl,webgpu,wasm] ' +
        '[--threads 1,2] [--warmup N] [--windows N] [--window-ms MS] [--images N] [--qat-variant SPEC] [--out FILE] [--md FILE] [--timeout SECONDS]');
      process.exit(2);
    }
  }
  if (!(o.warmup >= 0) || !(o.windows >= 1) || !(o.windowMs > 0) || !(o.images >= o.batch)
    || !o.threads.every((t) => Number.isInteger(t) && t >= 1)) {
    console.error('bench/train: --warmup >= 0, --windows >= 1, --window-ms > 0, --images >= 64, --threads positive integers');
    process.exit(2);
  }
  return o;
}

// The bench's flags (bench/run.mjs), minus --disable-gpu: TF.js's webgl and webgpu backends need
// a GPU, which headless Chromium gives here through SwiftShader (software, on the CPUs) only
// when allowed: ANGLE on SwiftShader for WebGL, Dawn's SwiftShader Vulkan adapter for WebGPU.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage', '--enable-unsafe-swiftshader', '--use-angle=swiftshader',
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader'];

/** Opens bench/train.html with `query` in a fresh context; resolves to the page's result. */
async function trainPage(browser, base, query, o, offsite) {
  const context = await browser.newContext();
  const origin = new URL(base).origin;
  context.on('request', (req) => {
    const u = new URL(req.url());
    if (u.protocol !== 'data:' && u.protocol !== 'blob:' && u.origin !== origin) offsite.push(req.url());
  });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.error(`  [page ${m.type()}] ${m.text()}`); });
  page.on('pageerror', (e) => console.error(`  [page] ${e.message}`));
  try {
    await page.goto(new URL(`bench/train.html?${new URLSearchParams(query)}`, base).href);
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null,
      { timeout: o.timeout });
    const r = await page.evaluate(() => window.__quantscopeTrainBench);
    if (r.error) throw new Error(r.error);
    return r;
  } finally {
    await context.close();
  }
}

/** The first line of an error that matters (TF.js's "Kernel ... not registered" etc.). */
const firstLine = (msg) => String(msg).split('\n').find((l) => l.trim() && !/^\s*at /.test(l))?.replace(/^(Error: )+/, '') ?? String(msg);

/**
 * `quantscope train` (one epoch on the first `images` training images, the page's
 * hyperparameters: Adam at a constant 1e-3, no flips, no weight decay): the images/s of its last
 * progress line (the epoch's images over the epoch's time so far; the first steps included).
 */
function nativeRow(o, tmp) {
  const bin = process.env.QUANTSCOPE_BIN ?? path.join(root, 'target/release/quantscope');
  if (!existsSync(bin)) return { skip: `${bin} is missing (cargo build --release)` };
  const args = ['train', '--dataset', 'fashion-mnist', '--data', path.join(root, DATA), '--epochs', '1',
    '--train-limit', String(o.images), '--batch', String(o.batch), '--optimizer', 'adam', '--lr', '1e-3',
    '--constant-lr', '--no-flip', '--weight-decay', '0', '--seed', '1', '--out', path.join(tmp, 'fmnist-bench.onnx')];
  let text;
  try {
    text = execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: o.timeout });
  } catch (e) {
    return { skip: `quantscope ${args.slice(0, 2).join(' ')} failed: ${firstLine(e.stderr || e.message)}` };
  }
  const lines = text.split('\n');
  const done = lines.filter((l) => /^epoch \d+ done in/.test(l)).pop();
  const m = done && /\(([\d.]+) images\/s\)/.exec(done);
  if (!m) return { skip: 'quantscope train printed no "epoch 1 done in ... (N images/s)" line' };
  const last = lines.filter((l) => /step \d+\/\d+ loss/.test(l)).pop() ?? '';
  const loss = /loss ([\d.]+)/.exec(last);
  const acc = /acc ([\d.]+)%/.exec(last);
  return { row: { engine: 'quantscope', backend: 'native', threads: 1, batch: o.batch, images: o.images,
    images_per_s: Number(m[1]), last_loss: loss ? Number(loss[1]) : null,
    last_accuracy: acc ? Number(acc[1]) / 100 : null, loss_kind: 'epoch mean', progress: done.trim(),
    command: `quantscope ${args.join(' ')}` } };
}

// ---- report ----------------------------------------------------------------------------------

const fmt = (x, d = 0) => (x == null || !Number.isFinite(x) ? '–' : x.toFixed(d));

function report(all, skipped, meta) {
  const isQat = (r) => r.engine === 'qat' || r.kind === 'qat';
  const [l0, l1] = meta.load;
  const md = [SECTION, '', `${meta.date}${meta.browser ? `, headless ${meta.browser}` : ''}, ${meta.cpus} CPUs; ` +
    `1-minute load average ${l0.toFixed(2)} before, ${l1.toFixed(2)} after the run` +
    (Math.max(l0, l1) > 0.5 * meta.cpus ? ` (**the machine was busy: other processes competed for its ${meta.cpus} CPUs, the numbers are noisy**)` : '') + '.'];
  const train = [all.filter((r) => !isQat(r)), skipped.filter((r) => !isQat(r))];
  const qat = [all.filter(isQat), skipped.filter(isQat)];
  if (train.some((x) => x.length)) md.push(...trainReport(...train, meta));
  if (qat.some((x) => x.length)) md.push(...qatReport(...qat, meta));
  return `${md.join('\n')}\n`;
}

/** The training rows' table, and the goal against TF.js. */
function trainReport(rows, skipped, meta) {
  const md = ['', 'The Fashion-MNIST CNN ' +
    '(conv3x3(32)-BN-ReLU-maxpool2, conv3x3(64)-BN-ReLU-maxpool2, dense(128)-ReLU, dense(10); softmax ' +
    `cross-entropy, Adam) trained with batch ${meta.batch} on the first ${meta.images} training images, ` +
    'each engine in a dedicated Worker. images/s: median over ' +
    `${meta.windows} windows of >= ${meta.windowMs} ms after ${meta.warmup} warm-up steps (and one first step). ` +
    `TF.js ${meta.tfjs ?? ''} via \`model.trainOnBatch\`; quantscope via its wasm \`CnnTrainer\` (src/wasm/train.rs); native: \`quantscope train\`.`, ''];
  const tf = rows.filter((r) => r.engine === 'tfjs').sort((a, b) => b.images_per_s - a.images_per_s)[0];
  md.push('| engine | backend | threads | images/s | median step ms | vs TF.js fastest | loss first -> last |');
  md.push('|---|---|---:|---:|---:|---:|---|');
  for (const r of rows) {
    const ratio = tf ? `${(r.images_per_s / tf.images_per_s).toFixed(2)}x` : '–';
    const loss = r.first_loss != null ? `${fmt(r.first_loss, 3)} -> ${fmt(r.last_loss, 3)}` : fmt(r.last_loss, 3);
    const backend = r.renderer ? `${r.backend} (${r.renderer})` : r.backend;
    // webgl and webgpu run in the GPU process (SwiftShader: software, its own threads).
    const threads = r.engine === 'tfjs' && /^webg/.test(r.backend) ? 'GPU' : r.threads ?? '–';
    md.push(`| ${r.engine} | ${backend} | ${threads} | ${fmt(r.images_per_s, 1)} | ${fmt(r.median_step_ms, 1)} | ${ratio} | ${loss} |`);
  }
  for (const s of skipped) md.push(`| ${s.engine} | ${s.backend} | ${s.threads ?? '–'} | **cannot train** | | | ${s.reason.replace(/\|/g, '\\|')} |`);
  md.push('', `### Goal: quantscope >= ${GOAL}x TF.js (its fastest backend here${tf ? `: ${tf.backend}${tf.backend === 'wasm' ? ` at ${tf.threads} thread${tf.threads > 1 ? 's' : ''}` : ''}, ${fmt(tf.images_per_s, 1)} images/s` : ''})`, '');
  const qs = rows.filter((r) => r.engine === 'quantscope');
  if (!tf) md.push('- **MISSING**: no TF.js backend trained');
  if (!qs.length) md.push('- **MISSING**: no quantscope row');
  if (tf) {
    for (const r of qs) {
      const ratio = r.images_per_s / tf.images_per_s;
      md.push(`- quantscope ${r.backend} at ${r.threads ?? '?'} thread${r.threads > 1 ? 's' : ''}: **${ratio.toFixed(2)}x** ` +
        `(${fmt(r.images_per_s, 1)} / ${fmt(tf.images_per_s, 1)} images/s) ${ratio >= GOAL ? '**PASS**' : '**MISS**'}`);
    }
  }
  return md;
}

/** The QAT rows' table: images/s and what it means for an epoch. */
function qatReport(rows, skipped, meta) {
  const time = (s) => (s >= 120 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`);
  const md = ['', `### QAT in the page's worker (${meta.qatVariant}, batch ${meta.batch})`, '',
    `Quantization-aware training of \`${QAT_MODEL}\` to ${meta.qatVariant} as the page's QAT panel runs it: ` +
    '`QsModel.qat()` of the npm package (pkg/index.js) in its worker (pkg/worker.js, src/wasm/qat.rs), on the whole ' +
    'training set, steps in ~50 ms slices with a progress report after each, no test checkpoints. images/s: median over ' +
    `${meta.windows} windows of >= ${meta.windowMs} ms (whole slices) after ${meta.warmup} warm-up steps (and one first step); ` +
    'an epoch at that rate: 60,000 images (the whole training set), and the 10,000 training images the page ships.', '',
    '| build | threads | images/s | median step ms | one epoch (60,000) | page subset (10,000) | loss first -> last |',
    '|---|---:|---:|---:|---:|---:|---|'];
  for (const r of rows) {
    md.push(`| ${r.backend}${r.fallback ? ` (fell back: ${r.fallback})` : ''} | ${r.threads} | ${fmt(r.images_per_s, 1)} | ${fmt(r.median_step_ms, 1)} | ` +
      `${time(r.epoch_s)} | ${time(r.page_subset_epoch_s)} | ${fmt(r.first_loss, 3)} -> ${fmt(r.last_loss, 3)} |`);
  }
  for (const s of skipped) md.push(`| ${s.backend} | ${s.threads ?? '–'} | **cannot run** | | | | ${s.reason.replace(/\|/g, '\\|')} |`);
  return md;
}

/** results.md with its training section replaced by `section` (appended when it has none). */
async function writeSection(file, section) {
  let text = existsSync(file) ? await readFile(file, 'utf8') : '';
  const at = text.indexOf(`\n${SECTION}\n`);
  if (at >= 0) {
    const rest = text.slice(at + 1 + SECTION.length);
    const end = rest.search(/\n## (?!#)/); // the next top-level section after ours, if any
    text = text.slice(0, at + 1) + section + (end >= 0 ? rest.slice(end + 1) : '');
  } else text = `${text}${text && !text.endsWith('\n\n') ? '\n' : ''}${section}`;
  await writeFile(file, text);
}

// ---- main ------------------------------------------------------------------------------------

const o = parseArgs(process.argv.slice(2));
const needs = [`${DATA}/train-images-idx3-ubyte.gz`, `${DATA}/train-labels-idx1-ubyte.gz`];
if (o.engines.includes('tfjs')) needs.push('bench/node_modules/@tensorflow/tfjs/dist/tf.min.js');
if (o.engines.includes('quantscope') || o.engines.includes('qat')) needs.push('pkg/st/quantscope.js');
if (o.engines.includes('qat')) needs.push(QAT_MODEL, QAT_MODEL.replace(/\.onnx$/, '.json'));
for (const need of needs) {
  if (!existsSync(path.join(root, need))) {
    console.error(`bench/train: ${path.join(root, need)} is missing (make fashion-mnist, make pkg, make models, npm ci in bench/)`);
    process.exit(1);
  }
}
const runId = new Date().toISOString();
const started = Date.now();
const loadBefore = os.loadavg()[0];
const rows = [];
const skipped = [];
const offsite = [];
let failed = false;
const proto = { batch: o.batch, images: o.images, warmup: o.warmup, windows: o.windows, window_ms: o.windowMs };
const qatQuery = { variant: o.qatVariant, model: `../${QAT_MODEL}` };

if (o.engines.includes('native')) {
  console.log(`bench/train: native quantscope train, ${o.images} images, batch ${o.batch}…`);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'quantscope-train-bench-'));
  const r = nativeRow(o, tmp);
  await rm(tmp, { recursive: true, force: true });
  if (r.row) rows.push(r.row);
  else {
    console.error(`bench/train: *** native: ${r.skip} ***`);
    skipped.push({ engine: 'quantscope', backend: 'native', threads: null, reason: r.skip });
  }
}

const inBrowser = o.engines.some((e) => e !== 'native');
const server = inBrowser ? await serve({ root, port: 0, host: '127.0.0.1', isolation: true }) : null;
const browser = inBrowser ? await chromium.launch({ executablePath, args: CHROMIUM_ARGS }) : null;
const browserVersion = browser?.version() ?? null;
const haveMt = existsSync(path.join(root, 'pkg/mt/quantscope_bg.wasm'));
try {
  const runs = [];
  if (o.engines.includes('quantscope')) for (const threads of o.threads) runs.push({ engine: 'quantscope', backend: threads > 1 ? 'mt' : 'st', threads });
  if (o.engines.includes('tfjs')) {
    for (const backend of o.backends) {
      // cpu is plain JavaScript, webgl and webgpu run on the (software) GPU: threads do not apply.
      for (const threads of backend === 'wasm' ? o.threads : [1]) runs.push({ engine: 'tfjs', backend, threads });
    }
  }
  if (o.engines.includes('qat')) for (const threads of o.threads) runs.push({ engine: 'qat', backend: threads > 1 ? 'mt' : 'st', threads });
  for (const q of runs) {
    const label = `${q.engine} ${q.backend} threads=${q.threads}`;
    const ours = q.engine === 'quantscope' || q.engine === 'qat';
    if (ours && q.threads > 1 && !haveMt) {
      console.error(`bench/train: pkg/mt/quantscope_bg.wasm not found: SKIPPING ${label}`);
      skipped.push({ ...q, reason: 'pkg/mt not built' });
      continue;
    }
    console.log(`bench/train: ${label}: ${o.warmup} warm-up steps, ${o.windows} windows of ${o.windowMs} ms…`);
    try {
      const r = await trainPage(browser, server.url, { ...q, ...proto, ...(q.engine === 'qat' ? qatQuery : {}) }, o, offsite);
      for (const row of r.rows) {
        console.log(`  ${fmt(row.images_per_s, 1)} images/s (loss ${fmt(row.first_loss, 3)} -> ${fmt(row.last_loss, 3)})`);
        rows.push(row);
      }
    } catch (e) {
      const reason = firstLine(e.message);
      console.error(`bench/train: *** ${label} cannot train: ${reason} ***`);
      skipped.push({ ...q, reason });
      // A TF.js backend without the kernels to train is a finding; quantscope failing is not.
      if (ours) failed = true;
    }
  }
} finally {
  await browser?.close().catch(() => {});
  await server?.close();
}
if (offsite.length) {
  console.error(`bench/train: requests left the page's origin: ${[...new Set(offsite)].join(', ')}`);
  failed = true;
}

const loadAfter = os.loadavg()[0];
for (const r of rows) Object.assign(r, { kind: r.kind ?? 'train', run: runId, load_average: [loadBefore, loadAfter] });
await appendRows(o.out, rows, 'bench/train');
const section = report(rows, skipped, {
  date: runId, browser: browserVersion && `Chromium ${browserVersion}`, cpus: os.cpus().length, load: [loadBefore, loadAfter],
  batch: o.batch, images: o.images, windows: o.windows, windowMs: o.windowMs, warmup: o.warmup,
  tfjs: rows.find((r) => r.tfjs_version)?.tfjs_version, qatVariant: o.qatVariant,
});
await writeSection(o.md, section);
console.log(`\n${section}`);
console.log(`bench/train: appended ${rows.length} rows to ${o.out}, wrote the training section of ${o.md} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
process.exit(failed ? 1 : 0);
