#!/usr/bin/env node
// Browser benchmark of quantscope against onnxruntime-web and LiteRT.js in headless Chromium
// (playwright-core, /usr/bin/chromium): EfficientNet-Lite0 fp32 and int8, at 1 and 2 threads.
//   node bench/run.mjs [--runs 20] [--warmup 3] [--threads 1,2] [--out bench/results.json]
//                      [--md bench/results.md] [--timeout SECONDS]
//                      [--engines quantscope,onnxruntime-web,litert.js] [--rounds 1]
//                      [--variants fp32,int8,w4a8,w4a8-kmeans,w2a8] (quantscope's; default all)
//                      [--model PREFIX] (default models/efficientnet-lite0: PREFIX.onnx and .json for
//                      quantscope, PREFIX.tflite and -int8.tflite for LiteRT.js; onnxruntime-web's
//                      int8 QDQ model is Lite0's only, so another model runs without it)
// Serves the repository root (bench/, pkg/, models/, samples/) on 127.0.0.1 with COOP/COEP
// (crossOriginIsolated, so every engine can use threads) and, in one Chromium, opens
// bench/index.html once per (engine, threads), each in a fresh browser context, the engines one
// after the other at each thread count, and that whole cycle --rounds times (a busy machine then
// slows every engine alike, not the one that happened to run during the burst); the runs of one
// (engine, variant, threads) from all rounds are pooled (`--runs` each round):
//   quantscope       fp32 (pkg/st or st-relaxed at 1 thread, pkg/mt or mt-relaxed at 2, as pkg/ picks), then int8 from model.quantize()
//                    calibrated on samples/* (skipped, loudly, if the package has no quantize());
//   onnxruntime-web  fp32 (models/efficientnet-lite0.onnx) and int8
//                    (models/efficientnet-lite0-int8-qdq.onnx from scripts/ort_quantize.py),
//                    wasm backend, ort.env.wasm.numThreads = threads, runtime files served from
//                    bench/node_modules/onnxruntime-web/dist;
//   litert.js        @litertjs/core (XNNPACK; relaxed SIMD build at 1 thread, its pthreads build at
//                    2), fp32 and full-integer int8 .tflite from scripts/make_tflite.py (float32
//                    input and output), runtime files served from bench/node_modules/@litertjs.
// The timed image is samples/coffee.png. quantscope decodes and preprocesses it itself;
// onnxruntime-web and LiteRT.js (transposed to NHWC) get the tensor scripts/preprocess_tensor.py writes once (the same steps as
// quantscope's preprocessing; the latency does not depend on the pixel values).
// Appends one row per (engine, variant, threads) to results.json (an array; each row has the
// run's `run` id), writes results.md (table, ratios, the goals) and prints it.
// Any request leaving the page's origin fails the run.
// Environment:
//   QUANTSCOPE_ROOT    directory served as / (default: the repository root, bench/..)
//   CHROMIUM           browser executable (default /usr/bin/chromium)
//   PYTHON             python with numpy + pillow (default: <root>/.venv/bin/python)
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from '../scripts/serve.mjs';
import { appendRows } from './history.mjs';
import { median } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(process.env.QUANTSCOPE_ROOT ?? path.join(here, '..'));
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const IMAGE = 'samples/coffee.png';
const LITE0 = 'models/efficientnet-lite0';
const INT8_QDQ = 'models/efficientnet-lite0-int8-qdq.onnx';

function parseArgs(argv) {
  const o = {
    runs: 20, warmup: 3, threads: [1, 2], out: path.join(here, 'results.json'),
    md: path.join(here, 'results.md'), timeout: 600_000,
    engines: null, rounds: 1, variants: null, model: LITE0,
  };
  for (let i = 0; i < argv.length; i++) {
    const v = () => argv[++i];
    if (argv[i] === '--runs') o.runs = Number(v());
    else if (argv[i] === '--warmup') o.warmup = Number(v());
    else if (argv[i] === '--threads') o.threads = v().split(',').map(Number);
    else if (argv[i] === '--out') o.out = path.resolve(v());
    else if (argv[i] === '--md') o.md = path.resolve(v());
    else if (argv[i] === '--timeout') o.timeout = Number(v()) * 1000;
    else if (argv[i] === '--engines') o.engines = v().split(',');
    else if (argv[i] === '--rounds') o.rounds = Number(v());
    else if (argv[i] === '--variants') o.variants = v();
    else if (argv[i] === '--model') o.model = v();
    else {
      console.error('usage: node bench/run.mjs [--runs N] [--warmup N] [--threads 1,2] [--out FILE] [--md FILE] [--timeout SECONDS] [--engines a,b] [--rounds N] [--variants fp32,int8,...] [--model PREFIX]');
      process.exit(2);
    }
  }
  if (!(o.runs >= 1) || !(o.warmup >= 0) || !(Number.isInteger(o.rounds) && o.rounds >= 1) || !o.threads.every((t) => Number.isInteger(t) && t >= 1)) {
    console.error('bench: --runs >= 1, --warmup >= 0, --rounds >= 1, --threads positive integers');
    process.exit(2);
  }
  o.engines ??= o.model === LITE0 ? ['quantscope', 'onnxruntime-web', 'litert.js'] : ['quantscope', 'litert.js'];
  if (o.model !== LITE0 && o.engines.includes('onnxruntime-web')) {
    console.error(`bench: onnxruntime-web's int8 model (${INT8_QDQ}) is EfficientNet-Lite0's: not with --model ${o.model}`);
    process.exit(2);
  }
  return o;
}

const o = parseArgs(process.argv.slice(2));
const FLOAT_MODEL = `${o.model}.onnx`;
const TFLITE = o.model; // .tflite, -int8.tflite, -tflite-check.json (scripts/make_tflite.py)

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage'];

/** Opens the bench page for one engine at one thread count; resolves to the page's result. */
async function benchPage(browser, base, query, o, offsite) {
  const context = await browser.newContext(); // fresh profile state: no cached wasm or model
  const origin = new URL(base).origin;
  context.on('request', (req) => {
    const u = new URL(req.url());
    if (u.protocol !== 'data:' && u.protocol !== 'blob:' && u.origin !== origin) offsite.push(req.url());
  });
  const page = await context.newPage();
  const workers = [];
  page.on('worker', (w) => workers.push(new URL(w.url()).pathname.split('/').pop() || w.url()));
  page.on('console', (m) => {
    // LiteRT.js logs its INFO lines as errors.
    if ((m.type() === 'error' || m.type() === 'warning') && !m.text().startsWith('INFO: ')) console.error(`  [page ${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (e) => console.error(`  [page] ${e.message}`));
  try {
    await page.goto(new URL(`bench/index.html?${new URLSearchParams(query)}`, base).href);
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null,
      { timeout: o.timeout });
    const r = await page.evaluate(() => window.__quantscopeBench);
    if (r.error) throw new Error(r.error);
    // Workers the page started (the engine's, and its thread pool's when Playwright sees them).
    for (const row of r.rows) row.page_workers = workers.length;
    console.log(`  ${workers.length} worker(s): ${[...new Set(workers)].join(', ')}`);
    return r;
  } finally {
    await context.close();
  }
}

/** The onnxruntime-web input: IMAGE preprocessed by scripts/preprocess.py, written once. */
function makeInputTensor() {
  const rel = 'bench/.cache/coffee.nchw.f32';
  const python = process.env.PYTHON ?? path.join(root, '.venv/bin/python');
  execFileSync(python, [path.join(root, 'scripts/preprocess_tensor.py'), path.join(root, IMAGE), path.join(root, rel)],
    { stdio: 'inherit' });
  return `../${rel}`;
}

// ---- rounds ----------------------------------------------------------------------------------

const sameKey = (a, b) => a.engine === b.engine && a.variant === b.variant && a.threads === b.threads;

/** One row per (engine, variant, threads): the first round's row with the statistics of all runs. */
function poolRounds(all) {
  const out = [];
  for (const r of all) {
    const first = out.find((x) => sameKey(x, r));
    if (!first) out.push({ ...r, round_medians_ms: [r.median_ms], profiles: r.profile ? [r.profile] : [] });
    else {
      if (r.profile) first.profiles.push(r.profile);
      first.samples_ms = [...first.samples_ms, ...r.samples_ms];
      first.wall_samples_ms = [...first.wall_samples_ms, ...r.wall_samples_ms];
      first.round_medians_ms.push(r.median_ms);
    }
  }
  for (const r of out) {
    Object.assign(r, { median_ms: median(r.samples_ms), min_ms: Math.min(...r.samples_ms),
      median_wall_ms: median(r.wall_samples_ms), runs: r.samples_ms.length, rounds: r.round_medians_ms.length });
    // Each node's median over the rounds.
    r.profile = r.profiles.length
      ? r.profiles[0].map((node, i) => ({ ...node, ms: median(r.profiles.map((p) => p[i].ms)) })) : null;
    delete r.profiles;
    delete r.wall_samples_ms; // results.json keeps the model times only
  }
  return out;
}

// ---- report ----------------------------------------------------------------------------------

const fmt = (x, d = 1) => (x == null || !Number.isFinite(x) ? '–' : x.toFixed(d));
const find = (rows, engine, variant, threads) =>
  rows.find((r) => r.engine === engine && r.variant === variant && r.threads === threads);

function goals(rows, skipped, threadsList) {
  const lines = [];
  const why = (variant, t) => {
    const s = skipped.find((k) => k.engine === 'quantscope' && k.variant === variant && k.threads === t);
    return s ? `not measured: ${s.reason}` : 'not measured';
  };
  // Goal 1: quantscope int8 <= 0.5x quantscope fp32 at 1 thread.
  {
    const f = find(rows, 'quantscope', 'fp32', 1);
    const q = find(rows, 'quantscope', 'int8', 1);
    const head = '- quantscope int8 <= 0.5x quantscope fp32 at 1 thread:';
    if (f && q) {
      const ratio = q.median_ms / f.median_ms;
      lines.push(`${head} **${ratio.toFixed(2)}x** (${fmt(q.median_ms)} ms / ${fmt(f.median_ms)} ms) ${ratio <= 0.5 ? '**PASS**' : '**MISS**'}`);
    } else lines.push(`${head} **MISSING** (${!f ? 'quantscope fp32' : 'quantscope int8'} ${why(!f ? 'fp32' : 'int8', 1)})`);
  }
  // Goal 2: quantscope int8 <= 0.7x the best onnxruntime-web variant at the same thread count.
  for (const t of threadsList) {
    const q = find(rows, 'quantscope', 'int8', t);
    const peers = rows.filter((r) => r.engine === 'onnxruntime-web' && r.threads === t);
    const best = peers.sort((a, b) => a.median_ms - b.median_ms)[0];
    const head = `- quantscope int8 <= 0.7x the best onnxruntime-web variant at ${t} thread${t > 1 ? 's' : ''}:`;
    if (q && best) {
      const ratio = q.median_ms / best.median_ms;
      lines.push(`${head} **${ratio.toFixed(2)}x** (${fmt(q.median_ms)} ms / onnxruntime-web ${best.variant} ${fmt(best.median_ms)} ms) ${ratio <= 0.7 ? '**PASS**' : '**MISS**'}`);
    } else if (!best) lines.push(`${head} **MISSING** (no onnxruntime-web row at ${t} threads)`);
    else lines.push(`${head} **MISSING** (quantscope int8 ${why('int8', t)})`);
  }
  // Goal 3: packed low-bit weights do not undo the gain: w4a8 <= 1.15x int8, w4a8-kmeans <= 1.3x.
  for (const t of threadsList) {
    const q = find(rows, 'quantscope', 'int8', t);
    for (const [spec, limit] of [['w4a8', 1.15], ['w4a8-kmeans', 1.3]]) {
      const r = find(rows, 'quantscope', spec, t);
      const head = `- quantscope ${spec} <= ${limit}x int8 at ${t} thread${t > 1 ? 's' : ''}:`;
      if (q && r) {
        const ratio = r.median_ms / q.median_ms;
        lines.push(`${head} **${ratio.toFixed(2)}x** (${fmt(r.median_ms)} ms / ${fmt(q.median_ms)} ms) ${ratio <= limit ? '**PASS**' : '**MISS**'}`);
      } else lines.push(`${head} **MISSING** (${q ? spec : 'int8'} ${why(q ? spec : 'int8', t)})`);
    }
  }
  return lines;
}

/** One goal line: `value <= limit` (shown with `unit`), or MISSING with what is absent. */
function goalLine(head, value, limit, detail, missing, unit = 'x') {
  if (value == null || !Number.isFinite(value)) return `- ${head}: **MISSING** (${missing})`;
  return `- ${head}: **${value.toFixed(2)}${unit}** (${detail}) ${value <= limit ? '**PASS**' : '**MISS**'}`;
}

/** The goals of "ahead of XNNPACK": ratios against LiteRT.js, threads, fp16, start-up, size. */
function litertGoals(rows, meta) {
  const lines = [];
  const ratio = (a, b) => (a && b ? a.median_ms / b.median_ms : null);
  const ms = (r) => `${fmt(r?.median_ms)} ms`;
  for (const [v, limit] of [['int8', 0.8], ['fp32', 1.0]]) {
    for (const t of meta.threads) {
      const q = find(rows, 'quantscope', v, t);
      const l = find(rows, 'litert.js', v, t);
      lines.push(goalLine(`quantscope ${v} <= ${limit}x LiteRT.js ${v} at ${t} thread${t > 1 ? 's' : ''}`,
        ratio(q, l), limit, `${ms(q)} / ${ms(l)}`, q ? 'no LiteRT.js row' : `no quantscope ${v} row`));
    }
  }
  for (const t of meta.threads.filter((x) => x > 1)) {
    const [one, many] = [find(rows, 'quantscope', 'int8', 1), find(rows, 'quantscope', 'int8', t)];
    lines.push(goalLine(`quantscope int8 at ${t} threads <= 0.6x its 1-thread time`, ratio(many, one), 0.6,
      `${ms(many)} / ${ms(one)}`, 'int8 at 1 and at several threads needed'));
  }
  for (const t of meta.threads) {
    const [h, f] = [find(rows, 'quantscope', 'fp16', t), find(rows, 'quantscope', 'fp32', t)];
    lines.push(goalLine(`quantscope fp16 <= 1.0x fp32 at ${t} thread${t > 1 ? 's' : ''} (steady; first calls ` +
      `${fmt(h?.first_call_ms)} and ${fmt(f?.first_call_ms)} ms wall)`, ratio(h, f), 1.0, `${ms(h)} / ${ms(f)}`,
    'fp16 and fp32 rows needed'));
  }
  for (const t of meta.threads) {
    const f = find(rows, 'quantscope', 'fp32', t);
    const s = f?.time_to_first_prediction_ms != null ? f.time_to_first_prediction_ms / 1000 : null;
    lines.push(goalLine(`first prediction <= 2 s on localhost at ${t} thread${t > 1 ? 's' : ''}`, s, 2,
      'from opening the bench page to the first fp32 classify() result: engine start, model fetch and load included',
      'no quantscope fp32 row', ' s'));
  }
  for (const [build, bytes] of Object.entries(meta.wasmGzip ?? {})) {
    lines.push(goalLine(`pkg/${build} wasm <= 500 KB after gzip -9`, bytes / 1e3, 500, 'gzip -9 of quantscope_bg.wasm', '', ' KB'));
  }
  return lines;
}

/** quantscope against LiteRT.js per variant and thread count, and the .tflite check. */
function litertSection(rows, meta) {
  const lines = ['## quantscope vs LiteRT.js', '',
    '| variant | threads | quantscope ms | LiteRT.js ms | quantscope / LiteRT.js |', '|---|---:|---:|---:|---:|'];
  for (const t of meta.threads) {
    for (const v of ['int8', 'fp32']) {
      const q = find(rows, 'quantscope', v, t);
      const l = find(rows, 'litert.js', v, t);
      lines.push(`| ${v} | ${t} | ${fmt(q?.median_ms)} | ${fmt(l?.median_ms)} | ${q && l ? `${(q.median_ms / l.median_ms).toFixed(2)}x` : '–'} |`);
    }
  }
  lines.push('', '### Goals against LiteRT.js (issue 14)', '', ...litertGoals(rows, meta));
  const c = meta.tfliteCheck;
  if (c) {
    lines.push('', `The .tflite models against onnxruntime on the ${c.count} sample photos (\`${TFLITE}-tflite-check.json\`, ` +
      `TensorFlow ${c.tensorflow}): fp32 max |logit difference| ${c.fp32_tflite_max_abs_diff.toExponential(1)}, ` +
      `top-1 agrees on ${c.fp32_top1_agree}/${c.count}; int8 top-1 agrees on ${c.int8_top1_agree}/${c.count} ` +
      `(max |logit difference| ${c.int8_max_abs_diff.toFixed(2)}).`);
  }
  return lines;
}

/**
 * quantscope's per-layer profile: time per kind of node (depthwise and pointwise convolutions
 * apart) at every thread count, and the speed-up the threads give each kind.
 */
function profileSection(rows, meta) {
  const kind = (n) => (n.op === 'Conv' || n.op === 'QLinearConv' || n.op.startsWith('Conv')
    ? `${n.op} ${/dw|depthwise/i.test(n.name) ? 'depthwise' : 'other'}` : n.op);
  const lines = [];
  for (const v of ['fp32', 'int8']) {
    const byT = meta.threads.map((t) => find(rows, 'quantscope', v, t)).filter((r) => r?.profile);
    if (!byT.length) continue;
    const sums = byT.map((r) => {
      const m = new Map();
      for (const n of r.profile) m.set(kind(n), (m.get(kind(n)) ?? 0) + n.ms);
      return m;
    });
    const kinds = [...sums[0].keys()].sort((a, b) => sums[0].get(b) - sums[0].get(a));
    const ts = byT.map((r) => r.threads);
    lines.push(`### ${v}`, '', `| node kind | nodes | ${ts.map((t) => `${t}t ms`).join(' | ')} |` +
      (ts.length > 1 ? ` ${ts.slice(1).map((t) => `${ts[0]}t / ${t}t`).join(' | ')} |` : ''),
    `|---|---:|${ts.map(() => '---:').join('|')}|${ts.length > 1 ? `${ts.slice(1).map(() => '---:').join('|')}|` : ''}`);
    const row = (label, count, vals) => lines.push(`| ${label} | ${count} | ${vals.map((x) => fmt(x, 2)).join(' | ')} |` +
      (vals.length > 1 ? ` ${vals.slice(1).map((x) => `${(vals[0] / x).toFixed(2)}x`).join(' | ')} |` : ''));
    for (const k of kinds) row(k, byT[0].profile.filter((n) => kind(n) === k).length, sums.map((m) => m.get(k) ?? 0));
    row('**all**', byT[0].profile.length, sums.map((m) => [...m.values()].reduce((a, b) => a + b, 0)));
    lines.push('');
  }
  if (!lines.length) return [];
  return ['## quantscope per-layer profile (`model.profile()`)', '',
    `Per node: the median of ${meta.rounds * 5} profiled runs (5 a round), summed by kind of node. A kind whose ` +
    'speed-up is near 1.00x does not use the second thread.', '', ...lines];
}

/**
 * The CPU's model and, on x86 Linux, whether it has the VNNI extensions that decide how the
 * browser computes relaxed-SIMD int8 dot products (`vnni` null where /proc/cpuinfo has no flags).
 */
function cpuFacts() {
  const model = os.cpus()[0]?.model?.trim() || 'unknown';
  let flags = null;
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    if (line) flags = new Set(line.split(':')[1].trim().split(/\s+/));
  } catch {
    // Not Linux, or not readable: the model alone.
  }
  return { model, vnni: flags && { avx: flags.has('avx_vnni'), avx512: flags.has('avx512_vnni') } };
}

function report(rows, skipped, kernels, meta) {
  const md = [];
  md.push('# quantscope browser benchmark', '');
  md.push(`${o.model === LITE0 ? 'EfficientNet-Lite0' : `\`${o.model}.onnx\``} on \`${IMAGE}\`, ${meta.date}, headless ${meta.browser}, ${meta.cpus} CPUs, ` +
    `crossOriginIsolated: ${meta.isolated}. Median of ${meta.runs * meta.rounds} runs` +
    (meta.rounds > 1 ? ` (${meta.rounds} rounds of ${meta.runs}, the engines taking turns), each round after` : ' after') +
    ` ${meta.warmup} warm-up runs (and one first call). ` +
    '"ms" is the engine-reported model time (ratios and goals use the medians): quantscope `classify().ms` (decoding and preprocessing excluded), ' +
    'onnxruntime-web ' + `${meta.ortVersion ? `${meta.ortVersion} ` : ''}` + '`session.run()` timed inside its Worker on the tensor ' +
    '`scripts/preprocess_tensor.py` made from the same image, LiteRT.js ' + `${meta.litertVersion ? `${meta.litertVersion} ` : ''}` +
    '`new Tensor()` + `model.run()` + reading the logits, timed inside its Worker on the same tensor in NHWC. "wall ms" is the round trip from the page ' +
    '(quantscope: includes decoding and preprocessing; the peers: include copying the tensor to the worker). ' +
    'quantscope int8: `model.quantize({mode: "static", observer: "minmax", perChannel: true})` calibrated on ' +
    `the ${meta.calib} sample photos; onnxruntime-web int8: \`${INT8_QDQ}\` (onnxruntime static QDQ, MinMax, per-channel, same photos); ` +
    `LiteRT.js: \`${TFLITE}.tflite\` and \`${TFLITE}-int8.tflite\` (\`scripts/make_tflite.py\`: TensorFlow's TFLiteConverter, ` +
    'full-integer int8, per-channel weights, same photos as the representative dataset).', '');
  md.push(`CPU: ${meta.cpu.model}` + (meta.cpu.vnni
    ? `; AVX-VNNI ${meta.cpu.vnni.avx ? 'yes' : 'no'}, AVX-512 VNNI ${meta.cpu.vnni.avx512 ? 'yes' : 'no'}` +
      '. Whether the browser computes `i32x4.relaxed_dot_i8x16_i7x16_add_s` exactly, which quantscope\'s relaxed ' +
      'int8 GEMM needs, depends on them: it did on machines with AVX-VNNI, not on one with only AVX-512 VNNI; ' +
      'the microkernel quantscope chose is in the kernel table below'
    : '') + '.', '');
  const [l0, l1] = meta.load;
  md.push(`1-minute load average ${l0.toFixed(2)} before, ${l1.toFixed(2)} after the run` +
    (Math.max(l0, l1) > 0.5 * meta.cpus ? ` (**the machine was busy: other processes competed for its ${meta.cpus} CPUs, the numbers are noisy**)` : '') + '.', '');
  md.push('| engine | variant | threads | median ms | min ms | median wall ms | vs quantscope fp32 | weights in wasm memory | top-1 |');
  md.push('|---|---|---:|---:|---:|---:|---:|---:|---|');
  const engineOrder = ['quantscope', 'onnxruntime-web', 'litert.js'];
  const order = (r) => [r.threads, engineOrder.indexOf(r.engine), r.variant === 'fp32' ? 0 : 1];
  const all = [...rows, ...skipped.map((s) => ({ ...s, skippedRow: true }))]
    .sort((a, b) => { const x = order(a); const y = order(b); return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
  for (const r of all) {
    if (r.skippedRow) {
      md.push(`| ${r.engine} | ${r.variant} | ${r.threads} | **SKIPPED** | | | | | ${r.reason} |`);
      continue;
    }
    const f = find(rows, 'quantscope', 'fp32', r.threads);
    const ratio = f ? `${(r.median_ms / f.median_ms).toFixed(2)}x` : '–';
    const mem = r.kernel_weight_bytes != null ? `${(r.kernel_weight_bytes / 1e6).toFixed(2)} MB` : '–';
    md.push(`| ${r.engine} | ${r.variant} | ${r.threads} | ${fmt(r.median_ms)} | ${fmt(r.min_ms)} | ${fmt(r.median_wall_ms)} | ${ratio} | ${mem} | ${r.top1.index} ${r.top1.label} (${r.top1.prob.toFixed(3)}) |`);
  }
  md.push('', '## Goals', '', ...goals(rows, skipped, meta.threads));
  md.push('', ...litertSection(rows, meta));
  md.push('', ...profileSection(rows, meta));
  const ref = find(rows, 'quantscope', 'fp32', meta.threads[0]) ?? rows[0];
  const disagree = rows.filter((r) => ref && r.top1.index !== ref.top1.index);
  if (disagree.length) {
    md.push('', `**top-1 differs from ${ref.engine} ${ref.variant}** (${ref.top1.index}): ` +
      disagree.map((r) => `${r.engine} ${r.variant} ${r.threads}t -> ${r.top1.index}`).join(', '));
  }
  if (kernels.length) {
    md.push('', '## quantscope int8 GEMM kernel (`qs.kernelBench()`)', '',
      'GOP/s (2 ops per multiply-add) of `qs8_gemm` on pointwise-convolution shapes of ' +
      'EfficientNet-Lite0, against the peak: a register-only loop of the microkernel\'s ' +
      'dot instruction (no loads, no stores) on one core, times the threads. Best of at least 5 calls and 20 ms (a parked helper thread can join a team milliseconds late; this measures the kernel, not that wake-up). ' +
      '"Stage ceiling" (`bench/ceiling`): that loop with, for every 4 outputs\' worth of dots at the shape\'s k, the output stage\'s ' +
      'arithmetic on 4 sums (convert, multiply-add, magic add, narrowings; registers only), as a share of the same loop without it: ' +
      'the stage takes dot slots where it runs on the dot\'s execution ports, and no kernel with loads and stores gets above this.', '',
      '| threads | microkernel | output stage | peak instruction | peak GOP/s | GEMM m x k x n | GOP/s | of peak | stage ceiling |', '|---:|---|---|---|---:|---|---:|---:|---:|');
    for (const k of kernels) {
      for (const g of k.gemm ?? []) {
        const peak = k.peak_gops * k.threads;
        md.push(`| ${k.threads} | ${k.ukernel ?? '–'} | ${k.output_stage ?? '–'} | \`${k.peak_op ?? 'i32x4.dot_i16x8_s + add'}\` | ${fmt(peak)} | ${g.m} x ${g.k} x ${g.n} | ${fmt(g.gops)} | ` +
          `${(100 * g.gops / peak).toFixed(0)}% | ${k.stage_ceiling?.[g.k] ? `${(100 * k.stage_ceiling[g.k]).toFixed(0)}%` : '–'} |`);
      }
    }
    md.push('', 'The f32 GEMM (`f32_gemm`, bias and ReLU6 fused) on the same shapes, GOP/s, best of at least 5 calls and 20 ms:', '',
      '| threads | GEMM m x k x n | GOP/s |', '|---:|---|---:|');
    for (const k of kernels) {
      for (const g of k.gemm_f32 ?? []) md.push(`| ${k.threads} | ${g.m} x ${g.k} x ${g.n} | ${fmt(g.gops)} |`);
    }
    const dw = kernels.filter((k) => k.dwconv_ms != null);
    if (dw.length) {
      md.push('', 'The int8 depthwise kernel (`qs8_dwconv`) on EfficientNet-Lite0\'s 16 depthwise layers, each ' +
        'alone and in cache, rows in the fused float form the model\'s get (compare the profile\'s ' +
        '"Conv depthwise"), ms, the sum of each layer\'s best of at least 5 calls and 20 ms:', '',
        '| threads | ms |', '|---:|---:|');
      for (const k of dw) md.push(`| ${k.threads} | ${k.dwconv_ms.toFixed(2)} |`);
    }
  }
  return `${md.join('\n')}\n`;
}

// ---- main ------------------------------------------------------------------------------------

for (const need of ['pkg/index.js', 'pkg/st/quantscope_bg.wasm', FLOAT_MODEL, IMAGE,
  'bench/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs']) {
  if (!existsSync(path.join(root, need))) {
    console.error(`bench: ${path.join(root, need)} is missing (make pkg, make models, npm ci in bench/)`);
    process.exit(1);
  }
}
const haveMt = existsSync(path.join(root, 'pkg/mt/quantscope_bg.wasm'));
const calib = readdirSync(path.join(root, 'samples')).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort()
  .map((f) => `../samples/${f}`);
const input = makeInputTensor();
const runId = new Date().toISOString();
const started = Date.now();
const loadBefore = os.loadavg()[0];

const server = await serve({ root, port: 0, host: '127.0.0.1', isolation: true });
const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
const browserVersion = browser.version();
let rows = [];
let skipped = [];
const kernels = [];
const offsite = [];
let failed = false;
// The engines, one page each per thread count, in this order within each thread count.
// `reject(row, threads)` names why a row does not count (a fallback to fewer threads).
const ENGINES = [
  {
    name: 'quantscope',
    what: `fp32, then int8 and low-bit weights (quantize on ${calib.length} photos)`,
    query: { calib: calib.join(','), model: `../${o.model}` },
    missing: (threads) => (threads > 1 && !haveMt ? 'pkg/mt not built' : null),
    reject: (row, threads) => (threads > 1 && !row.build.endsWith('-threads')
      ? `fell back to the single-threaded build: ${row.fallback_reason}` : null),
  },
  {
    name: 'onnxruntime-web',
    what: 'fp32, then int8 (QDQ)',
    query: { input, int8model: `../${INT8_QDQ}` },
    missing: () => null,
    reject: (row, threads) => (threads > 1 && !row.worker_cross_origin_isolated
      ? 'is not crossOriginIsolated: it would run single-threaded' : null),
  },
  {
    name: 'litert.js',
    what: 'fp32, then int8 (.tflite of scripts/make_tflite.py)',
    query: { input, tflite: `../${TFLITE}` },
    missing: () => null,
    reject: (row, threads) => (threads > 1 && !(row.worker_cross_origin_isolated && /threaded/.test(row.litert_build))
      ? `did not load its threaded build (${row.litert_build}, isolated: ${row.worker_cross_origin_isolated})` : null),
  },
].filter((e) => o.engines.includes(e.name));

try {
  for (let round = 1; round <= o.rounds; round++) {
    if (o.rounds > 1) console.log(`bench: round ${round} of ${o.rounds}`);
    for (const threads of o.threads) {
      const common = { threads, runs: o.runs, warmup: o.warmup, ...(o.variants ? { variants: o.variants } : {}),
        ...(round > 1 ? { kernels: 0 } : {}) }; // the kernel table is the first round's
      for (const eng of ENGINES) {
        const missing = eng.missing(threads);
        if (missing) {
          console.error(`bench: ${missing}: SKIPPING ${eng.name} at ${threads} threads`);
          for (const variant of ['fp32', 'int8']) skipped.push({ engine: eng.name, variant, threads, reason: missing });
          continue;
        }
        console.log(`bench: ${eng.name}, threads=${threads}: ${eng.what}; ${o.warmup} warm-up + ${o.runs} runs each…`);
        try {
          const r = await benchPage(browser, server.url, { ...common, engine: eng.name, ...eng.query }, o, offsite);
          for (const row of r.rows) {
            const why = eng.reject(row, threads);
            if (why) {
              console.error(`bench: ${eng.name} threads=${threads} ${why}`);
              failed = true;
              continue;
            }
            rows.push(row);
          }
          for (const sk of r.skipped) {
            console.error(`bench: *** SKIPPED ${eng.name} ${sk.variant} at ${threads} thread(s): ${sk.reason} ***`);
            skipped.push(sk);
          }
          if (r.kernel_bench && round === 1) kernels.push(r.kernel_bench);
        } catch (e) {
          console.error(`bench: ${eng.name} threads=${threads} failed: ${e.message}`);
          failed = true;
        }
      }
    }
  }
} finally {
  await browser.close().catch(() => {});
  await server.close();
}
if (offsite.length) {
  console.error(`bench: requests left the page's origin: ${[...new Set(offsite)].join(', ')}`);
  failed = true;
}

rows = poolRounds(rows);
skipped = skipped.filter((k, i) => skipped.findIndex((x) => sameKey(x, k)) === i);
for (const r of rows) Object.assign(r, { run: runId, load_average: [loadBefore, os.loadavg()[0]] });
await appendRows(o.out, rows, 'bench');
const md = report(rows, skipped, kernels, {
  date: runId,
  browser: `Chromium ${browserVersion}`,
  cpus: os.cpus().length,
  cpu: cpuFacts(),
  load: [loadBefore, os.loadavg()[0]],
  isolated: rows.length ? rows.every((r) => r.cross_origin_isolated) : 'unknown',
  runs: o.runs,
  rounds: o.rounds,
  warmup: o.warmup,
  calib: calib.length,
  threads: o.threads,
  ortVersion: rows.find((r) => r.ort_version)?.ort_version ?? null,
  litertVersion: rows.find((r) => r.litert_version)?.litert_version ?? null,
  wasmGzip: Object.fromEntries(readdirSync(path.join(root, 'pkg'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(root, 'pkg', d.name, 'quantscope_bg.wasm')))
    .map((d) => [d.name, gzipSync(readFileSync(path.join(root, 'pkg', d.name, 'quantscope_bg.wasm')), { level: 9 }).length])),
  tfliteCheck: existsSync(path.join(root, `${TFLITE}-tflite-check.json`))
    ? JSON.parse(await readFile(path.join(root, `${TFLITE}-tflite-check.json`), 'utf8')) : null,
});
await writeFile(o.md, md);
console.log(`\n${md}`);
console.log(`bench: appended ${rows.length} rows to ${o.out}, wrote ${o.md} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
if (skipped.length) console.error(`bench: *** ${skipped.length} row(s) SKIPPED, see the table ***`);
process.exit(failed ? 1 : 0);
