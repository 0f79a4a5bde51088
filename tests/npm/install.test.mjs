// The npm package as a user gets it: `npm pack` of pkg/, installed from the tarball into
//   (a) a fresh Vite app (vite build), and
//   (b) a plain page that imports ./node_modules/quantscope/index.js from <script type="module">,
// each served by scripts/serve.mjs with and without COOP/COEP and run in headless Chromium
// (Debian's /usr/bin/chromium through playwright-core). Each page classifies samples/coffee.png
// with EfficientNet-Lite0 and its metadata (top-1 'espresso') and loads a small classifier with
// no metadata at all (the engine's defaults: 'class N' labels, info().metadata), quantizes it
// (w8a8, then w4a8-kmeans from its ranges), loads a channels-last export, and (two of the four
// pages) survives a wasm trap (new worker, models reloaded); the build must
// be 'simd-relaxed-threads' when crossOriginIsolated and otherwise 'simd-relaxed' (Chromium
// validates a relaxed-SIMD module), and no request may leave
// 127.0.0.1.
//
// Needs: pkg/st, pkg/st-relaxed, pkg/mt and pkg/mt-relaxed built (make pkg), models/efficientnet-lite0.{onnx,json} (make models),
// npm ci in this folder. Works in test-output/npm/ (recreated each run).
// Also type-checks a TypeScript user of the installed package against its index.d.ts (tsc).
// Environment: CHROMIUM (default /usr/bin/chromium).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { build as viteBuild } from 'vite';
import { serve } from '../../scripts/serve.mjs';
import { CHROMIUM_ARGS, isLocal } from '../js/chromium.mjs';

const run = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkgDir = path.join(repo, 'pkg');
const work = path.join(repo, 'test-output', 'npm');
const MODEL = path.join(repo, 'models', 'efficientnet-lite0.onnx');
const META = path.join(repo, 'models', 'efficientnet-lite0.json');
// A reduced-width torchvision MobileNetV3-Small (random weights, 10 classes, 64 x 64 input).
const TINY = path.join(repo, 'tests', 'fixtures', 'corpus', 'torch-mobilenet_v3_small-w025.onnx');
// A Keras (tf2onnx) export with a channels-last [N, 48, 48, 3] input.
const TINY_NHWC = path.join(repo, 'tests', 'fixtures', 'corpus', 'keras-mobile-blocks-nhwc.onnx');
const COFFEE = path.join(repo, 'samples', 'coffee.png');
const NPM_INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', '--no-package-lock'];

const TSC = path.join(path.dirname(fileURLToPath(import.meta.url)), 'node_modules', 'typescript', 'bin', 'tsc');

// A TypeScript user of the package: what must compile, and (@ts-expect-error) what must not.
const TYPES_CHECK = `import createQuantscope, { type ModelMetadata, type ResolvedMetadata, type ModelInfo, type QsDataset, type AccuracyResult } from 'quantscope';

export async function use(bytes: Uint8Array, json: string): Promise<ResolvedMetadata> {
  const qs = await createQuantscope({ threads: 2 });
  const bare = await qs.loadModel(bytes);
  await qs.loadModel(bytes.buffer as ArrayBuffer, json);
  const meta: ModelMetadata = {
    name: 'mine',
    input: { shape: [1, 224, 224, 3], layout: 'NHWC' },
    preprocess: { resize: 'stretch', mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], channels: 'BGR' },
    labels: ['a', 'b'],
  };
  await qs.loadModel(bytes, meta);
  await qs.loadModel(bytes, {});
  const info: ModelInfo = await bare.info();
  const dims: (number | null)[] = info.file_input.dims;
  const reasons: string[] = info.float_nodes.map((n) => n.op + ': ' + n.reason);
  const again = await qs.loadModel(bytes, info.metadata);
  const top: string = (await again.classify(new Blob([json], { type: 'image/png' }))).top5[0].label;
  // @ts-expect-error a number is not metadata
  await qs.loadModel(bytes, 42);
  // @ts-expect-error layouts are NCHW or NHWC
  await qs.loadModel(bytes, { input: { layout: 'CHW' } });
  // @ts-expect-error mean has three numbers
  await qs.loadModel(bytes, { preprocess: { mean: [1, 2] } });
  // @ts-expect-error resize is 'crop' or 'stretch'
  await qs.loadModel(bytes, { preprocess: { resize: 'fit' } });
  const shape: [number, number, number, number] = info.metadata.input.shape;
  // Labelled data: a dataset from the page's own files, accuracy with progress and cancel.
  const test: QsDataset = await qs.loadDataset({ images: 'data/t10k-images-idx3-ubyte.gz', labels: bytes });
  const answers: Uint32Array = await bare.predict(test, { start: 0, end: 10 });
  const w8 = await bare.quantize({ variant: 'w8a8', calibration: { dataset: test, count: 100 } });
  const stop = new AbortController();
  const acc: AccuracyResult = await w8.accuracy(test, { reference: bare, limit: 500, signal: stop.signal, onProgress: (d, n) => void (d / n) });
  const cells: number = acc.confusion.flat().reduce((a, b) => a + b, 0) + acc.changed.length + test.names.length;
  // @ts-expect-error a dataset's files are bytes or URLs
  await qs.loadDataset({ images: 42, labels: bytes });
  void dims; void reasons; void top; void shape; void answers; void cells;
  return info.metadata;
}
`;



// What both pages run (after their own import of createQuantscope): window.__run() resolves to
// a plain object the test checks.
const PAGE_SCRIPT = `
async function bytesOf(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
  return new Uint8Array(await r.arrayBuffer());
}

window.__run = async ({ crash = false } = {}) => {
  const qs = await createQuantscope();
  const out = {
    build: qs.build,
    threads: qs.threads,
    version: qs.version,
    fallbackReason: qs.fallbackReason ?? null,
    isolated: globalThis.crossOriginIsolated === true,
    hardwareConcurrency: navigator.hardwareConcurrency,
  };
  try {
    const coffee = new Blob([await bytesOf('samples/coffee.png')], { type: 'image/png' });

    // A known classifier with its metadata (an object, as fetch().json() gives it).
    const meta = await (await fetch('models/efficientnet-lite0.json')).json();
    const effnet = await qs.loadModel(await bytesOf('models/efficientnet-lite0.onnx'), meta);
    const r = await effnet.classify(coffee);
    out.effnet = { top5: r.top5, probs: r.probs.length, ms: r.ms };
    // Where that time goes: one entry per node, and a readable error for a bad image.
    const nodes = await effnet.profile(coffee);
    let badProfile = null;
    try {
      await effnet.profile(new Uint8Array([1, 2, 3]));
    } catch (e) {
      badProfile = e.name + ': ' + e.message;
    }
    out.effnet.profile = {
      nodes: nodes.length,
      ops: [...new Set(nodes.map((n) => n.op))].sort(),
      wellFormed: nodes.every((n) => typeof n.name === 'string' && n.name && Number.isFinite(n.ms) && n.ms >= 0),
      totalMs: nodes.reduce((a, n) => a + n.ms, 0),
      badProfile,
    };
    await effnet.dispose();

    // Your own model: no metadata at all, every field from the engine's defaults.
    const tinyBytes = await bytesOf('models/tiny.onnx');
    const tiny = await qs.loadModel(tinyBytes);
    const t = await tiny.classify(coffee);
    const info = await tiny.info();
    out.tiny = { top5: t.top5, metadata: info.metadata, file_input: info.file_input, input: info.input };
    // The resolved metadata is valid input again, as an object and as a JSON string.
    const again = await qs.loadModel(tinyBytes, JSON.stringify(info.metadata));
    out.tinyAgain = (await again.classify(coffee)).top5;

    // Its int8 twin through the worker (calibration progress, ranges, withRanges).
    const steps = [];
    const int8 = await tiny.quantize({ variant: 'w8a8', calibration: [coffee], onProgress: (done, total) => steps.push([done, total]) });
    const int8Info = await int8.info();
    const twin = await tiny.withRanges(await int8.ranges(), { variant: 'w4a8-kmeans' });
    out.int8 = {
      variant: int8.variant,
      steps,
      floatNodes: int8Info.float_nodes,
      fp32FloatNodes: info.float_nodes,
      top5: (await int8.classify(coffee)).top5.length,
      twin: twin.variant,
    };

    // A channels-last (NHWC) Keras export, also without metadata.
    const nhwc = await qs.loadModel(await bytesOf('models/tiny-nhwc.onnx'));
    const n = await nhwc.info();
    out.nhwc = { input: n.metadata.input, file_input: n.file_input, top5: (await nhwc.classify(coffee)).top5.length };

    // A wasm trap in the worker (a fatal error reply): the wrapper starts a new worker and
    // reloads the models (the metadata-less one and its quantized twins) before rejecting.
    let trap = null;
    if (crash) {
      try {
        await qs._crashForTesting('trap');
      } catch (e) {
        trap = e.name + ': ' + e.message;
      }
    }
    out.crash = crash && {
      trap,
      restarts: qs.restarts,
      build: qs.build,
      tiny: (await tiny.classify(coffee)).top5,
      int8: (await int8.classify(coffee)).top5.length,
      twin: twin.variant,
    };

    // Metadata of the wrong type is rejected in the wrapper with a clear message.
    out.badMetadata = [];
    for (const bad of [42, [1, 2], '[]', 'not json']) {
      try {
        await qs.loadModel(tinyBytes, bad);
        out.badMetadata.push(null);
      } catch (e) {
        out.badMetadata.push(e.name + ': ' + e.message);
      }
    }
  } finally {
    qs.terminate();
  }
  return out;
};
window.__ready = true;
`;

let tarball;
let browser;
const roots = {};

before(async () => {
  for (const f of [path.join(pkgDir, 'st', 'quantscope_bg.wasm'), path.join(pkgDir, 'st-relaxed', 'quantscope_bg.wasm'),
    path.join(pkgDir, 'mt', 'quantscope_bg.wasm'), path.join(pkgDir, 'mt-relaxed', 'quantscope_bg.wasm'), MODEL, META]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run make pkg models (or make test-npm)`);
  }
  const t0 = Date.now();
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });

  // npm pack: what `npm publish` would upload.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work, '--loglevel=error'], { cwd: pkgDir });
  const [packed] = JSON.parse(stdout);
  tarball = path.join(work, packed.filename);
  const files = packed.files.map((f) => f.path);
  for (const f of ['package.json', 'index.js', 'index.d.ts', 'worker.js', 'protocol.js', 'README.md',
    'st/quantscope.js', 'st/quantscope_bg.wasm', 'st-relaxed/quantscope.js', 'st-relaxed/quantscope_bg.wasm',
    'mt/quantscope.js', 'mt/quantscope_bg.wasm', 'mt-relaxed/quantscope.js', 'mt-relaxed/quantscope_bg.wasm']) {
    assert.ok(files.includes(f), `the tarball lacks ${f} (it has ${files.join(', ')})`);
  }
  assert.ok(files.some((f) => /^mt\/snippets\/wasm-bindgen-rayon-[^/]+\/src\/workerHelpers\.js$/.test(f)), 'the tarball lacks the thread pool worker');

  // (a) a fresh Vite app and (b) a plain page, each installing the tarball (no dependencies, so
  // npm needs no registry for it); both installs at once.
  const vite = path.join(work, 'vite-app');
  const plain = path.join(work, 'plain-page');
  for (const dir of [vite, plain]) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ name: path.basename(dir), private: true, type: 'module' }, null, 2)}\n`);
  }
  const t1 = Date.now();
  await Promise.all([vite, plain].map((dir) => run('npm', [...NPM_INSTALL, tarball], { cwd: dir })));
  const t2 = Date.now();
  for (const dir of [vite, plain]) {
    assert.ok(existsSync(path.join(dir, 'node_modules', 'quantscope', 'protocol.js')), `${dir}: quantscope not installed`);
  }

  // The files the pages fetch: in the plain page's folder, in the Vite app's public/.
  const assets = (dir) => {
    mkdirSync(path.join(dir, 'models'), { recursive: true });
    mkdirSync(path.join(dir, 'samples'), { recursive: true });
    symlinkSync(MODEL, path.join(dir, 'models', 'efficientnet-lite0.onnx'));
    symlinkSync(META, path.join(dir, 'models', 'efficientnet-lite0.json'));
    symlinkSync(TINY, path.join(dir, 'models', 'tiny.onnx'));
    symlinkSync(TINY_NHWC, path.join(dir, 'models', 'tiny-nhwc.onnx'));
    symlinkSync(COFFEE, path.join(dir, 'samples', 'coffee.png'));
  };

  assets(plain);
  writeFileSync(path.join(plain, 'index.html'), `<!doctype html>
<meta charset="utf-8">
<title>quantscope from a plain page</title>
<script type="module">
import { createQuantscope } from './node_modules/quantscope/index.js';
${PAGE_SCRIPT}
</script>
`);
  roots.plain = plain;

  assets(path.join(vite, 'public'));
  mkdirSync(path.join(vite, 'src'), { recursive: true });
  writeFileSync(path.join(vite, 'index.html'), `<!doctype html>
<meta charset="utf-8">
<title>quantscope from a Vite app</title>
<script type="module" src="./src/main.js"></script>
`);
  writeFileSync(path.join(vite, 'src', 'main.js'), `import { createQuantscope } from 'quantscope';\n${PAGE_SCRIPT}`);
  // The configuration pkg/README.md recommends.
  writeFileSync(path.join(vite, 'vite.config.js'), `export default {
  base: './',
  optimizeDeps: { exclude: ['quantscope'] }, // keep its new URL(..., import.meta.url) intact
  worker: { format: 'es' },
  build: { target: 'esnext' },
};
`);
  await viteBuild({ root: vite, configFile: path.join(vite, 'vite.config.js'), logLevel: 'warn' });
  console.log(`# npm pack ${t1 - t0} ms, two npm installs of the tarball ${t2 - t1} ms, vite build ${Date.now() - t2} ms`);
  const dist = path.join(vite, 'dist');
  const built = readdirSync(path.join(dist, 'assets'));
  assert.equal(built.filter((f) => f.endsWith('.wasm')).length, 4, `Vite did not emit all four wasm builds (st, st-relaxed, mt, mt-relaxed): ${built.join(', ')}`);
  roots.vite = dist;

  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

test('types: a TypeScript user of the installed package compiles (and bad metadata does not)', async () => {
  const dir = path.join(work, 'vite-app');
  writeFileSync(path.join(dir, 'src', 'types-check.ts'), TYPES_CHECK);
  const args = [TSC, '--noEmit', '--strict', '--target', 'es2022', '--module', 'es2022', '--moduleResolution', 'bundler',
    '--lib', 'es2022,dom', 'src/types-check.ts'];
  try {
    await run(process.execPath, args, { cwd: dir });
  } catch (e) {
    assert.fail(`tsc rejected the check:\n${e.stdout}${e.stderr}`);
  }
});

after(async () => {
  await browser?.close();
});

/** Opens `root` served with or without COOP/COEP and runs window.__run() there. */
async function runPage(root, isolation, crash) {
  const server = await serve({ root, port: 0, host: '127.0.0.1', isolation });
  const context = await browser.newContext();
  const requests = [];
  const pageErrors = [];
  context.on('request', (r) => requests.push(r.url()));
  try {
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(server.url);
    await page.waitForFunction(() => window.__ready === true, null, { timeout: 30000 });
    const result = await page.evaluate((options) => window.__run(options), { crash });
    return { result, requests, pageErrors };
  } finally {
    await context.close();
    await server.close();
  }
}

function check({ result, requests, pageErrors }, isolation) {
  assert.deepEqual(pageErrors, []);
  const outside = requests.filter((u) => !isLocal(u));
  assert.deepEqual(outside, [], 'requests left 127.0.0.1');
  assert.ok(requests.some((u) => u.endsWith('.wasm')), 'no wasm was fetched');

  assert.equal(result.isolated, isolation);
  if (isolation) {
    assert.ok(result.hardwareConcurrency > 1, 'the threaded build needs at least two cores');
    assert.equal(result.build, 'simd-relaxed-threads', `threaded relaxed-SIMD build not used: ${result.fallbackReason}`);
    assert.ok(result.threads > 1);
  } else {
    assert.equal(result.build, 'simd-relaxed', `relaxed-SIMD build not used: ${result.fallbackReason}`);
    assert.equal(result.threads, 1);
  }

  assert.equal(result.effnet.probs, 1000);
  assert.equal(result.effnet.top5.length, 5);
  assert.equal(result.effnet.top5[0].label, 'espresso', JSON.stringify(result.effnet.top5));
  for (const p of result.effnet.top5) assert.ok(typeof p.label === 'string' && p.label.length > 0);
  const prof = result.effnet.profile;
  assert.ok(prof.nodes > 50 && prof.wellFormed, JSON.stringify(prof));
  assert.ok(prof.ops.includes('Conv') && prof.ops.includes('Add'), JSON.stringify(prof.ops));
  assert.ok(prof.totalMs > 0, JSON.stringify(prof));
  assert.match(prof.badProfile ?? '', /^Error: .*(image|decode|format)/i);

  const { tiny } = result;
  assert.equal(tiny.top5.length, 5);
  for (const p of tiny.top5) assert.equal(p.label, `class ${p.index}`);
  assert.equal(tiny.metadata.labels.length, 10);
  assert.deepEqual(tiny.metadata.input.shape, [1, 3, 64, 64]);
  assert.equal(tiny.metadata.input.layout, 'NCHW');
  assert.equal(tiny.metadata.preprocess.resize, 'crop');
  assert.equal(tiny.metadata.preprocess.resize_shorter, Math.round((64 * 256) / 224));
  assert.deepEqual(tiny.metadata.preprocess.mean, [123.675, 116.28, 103.53]);
  assert.deepEqual(tiny.metadata.preprocess.std, [58.395, 57.12, 57.375]);
  assert.equal(tiny.metadata.preprocess.channels, 'RGB');
  assert.ok(typeof tiny.metadata.name === 'string' && tiny.metadata.name.length > 0);
  assert.equal(tiny.metadata.input.name, 'input');
  assert.deepEqual(tiny.file_input, { name: 'input', dims: [null, 3, 64, 64] });
  assert.equal(tiny.file_input.dims.length, 4);
  assert.deepEqual(result.tinyAgain, tiny.top5);

  assert.equal(result.int8.variant, 'w8a8');
  assert.deepEqual(result.int8.steps, [[1, 1]]);
  assert.ok(Array.isArray(result.int8.floatNodes), 'info().float_nodes of an int8 model');
  for (const f of result.int8.floatNodes) assert.ok(f.name != null && f.op && f.reason, JSON.stringify(f));
  assert.deepEqual(result.int8.fp32FloatNodes, []);
  assert.equal(result.int8.top5, 5);
  assert.equal(result.int8.twin, 'w4a8-kmeans');

  assert.deepEqual(result.nhwc.input.layout, 'NHWC');
  assert.deepEqual(result.nhwc.input.shape, [1, 48, 48, 3]);
  assert.equal(result.nhwc.file_input.dims.length, 4);
  assert.equal(result.nhwc.top5, 5);

  if (result.crash) {
    assert.match(result.crash.trap ?? 'no error', /^RuntimeError: /);
    assert.equal(result.crash.restarts, 1);
    assert.equal(result.crash.build, result.build);
    assert.deepEqual(result.crash.tiny, tiny.top5);
    assert.equal(result.crash.int8, 5);
  }

  assert.equal(result.badMetadata.length, 4);
  for (const m of result.badMetadata) assert.match(m ?? 'accepted', /^TypeError: loadModel\(\): /);
}

for (const app of ['vite', 'plain']) {
  for (const isolation of [true, false]) {
    // The crash recovery once per build and once per kind of install.
    const crash = (app === 'vite') === isolation;
    test(`${app}: ${isolation ? 'COOP/COEP, threads' : 'no isolation, single-threaded'}${crash ? ', recovers from a trap' : ''}`, { timeout: 120000 }, async () => {
      const started = Date.now();
      const out = await runPage(roots[app], isolation, crash);
      assert.equal(Boolean(out.result.crash), crash);
      const r = out.result;
      console.log(`# ${app} isolation=${isolation}: ${r.build} x${r.threads}, espresso ${r.effnet?.top5?.[0]?.prob?.toFixed(3)}, ` +
        `EfficientNet-Lite0 ${r.effnet?.ms?.toFixed(0)} ms, ${Date.now() - started} ms in all`);
      if (app === 'vite' && isolation) console.log(`# resolved metadata of a model loaded without any: ${JSON.stringify({ ...r.tiny?.metadata, labels: r.tiny?.metadata?.labels?.length })}, file_input ${JSON.stringify(r.tiny?.file_input)}`);
      check(out, isolation);
    });
  }
}
