// LiteRT.js (@litertjs/core: TFLite's XNNPACK in wasm) in a dedicated Worker, the peer of
// ort-worker.js and of quantscope's engine worker. One runtime per worker (loadLiteRt() runs once
// per global), so the page starts one worker per thread count.
// A classic worker, not a module one: the package loads its emscripten script with importScripts().
// The package's ES module imports the bare specifier '@litertjs/wasm-utils', which no import map
// resolves in a worker: it is imported from a blob with that specifier rewritten to the file on
// this origin. Every file comes from bench/node_modules/@litertjs/ (nothing from elsewhere).
// Requests: { id, type: 'init' | 'load' | 'run' | 'release', ... } -> { id, ok, result | error }.
importScripts('./worker-rpc.js');

const PKG = new URL('./node_modules/@litertjs/', self.location.href).href;
const WASM_DIR = `${PKG}core/wasm/`;
let litert = null;
let model = null;

async function text(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.text();
}

async function importCore() {
  const src = await text(`${PKG}core/dist/index.js`);
  const spec = '"@litertjs/wasm-utils"';
  if (!src.includes(spec)) throw new Error(`@litertjs/core no longer imports ${spec}: update litert-worker.js`);
  const rewritten = src.replaceAll(spec, JSON.stringify(`${PKG}wasm-utils/dist/index.js`));
  const url = URL.createObjectURL(new Blob([rewritten], { type: 'text/javascript' }));
  try {
    return await import(url);
  } finally {
    URL.revokeObjectURL(url);
  }
}

async function handle(msg) {
  switch (msg.type) {
    case 'init': {
      litert = await importCore();
      const threads = msg.threads > 1;
      const relaxed = await litert.supportsFeature('relaxedSimd');
      // The file loadLiteRt() picks from the folder (see its load.ts).
      const file = !relaxed ? 'litert_wasm_compat_internal.js'
        : threads ? 'litert_wasm_threaded_internal.js' : 'litert_wasm_internal.js';
      // In a worker emscripten takes this script's URL for its pthreads' script and for the
      // folder of its .wasm: point both at the package's files (the loader passes self.Module on).
      self.Module = { mainScriptUrlOrBlob: WASM_DIR + file, locateFile: (f) => WASM_DIR + f };
      await litert.loadLiteRt(WASM_DIR, { threads });
      const pkg = JSON.parse(await text(`${PKG}core/package.json`));
      return {
        version: pkg.version,
        build: file.replace(/\.js$/, '.wasm'),
        cross_origin_isolated: self.crossOriginIsolated === true,
        num_threads: msg.threads,
      };
    }
    case 'load': {
      model?.delete();
      model = null;
      const t0 = performance.now();
      model = await litert.loadAndCompile(new Uint8Array(msg.model), {
        accelerator: 'wasm',
        cpuOptions: { numThreads: msg.threads },
      });
      const input = model.getInputDetails()[0];
      return { load_ms: performance.now() - t0, input_shape: Array.from(input.shape), input_dtype: input.dtype };
    }
    case 'run': {
      if (!model) throw new Error('no model loaded');
      // Timed like onnxruntime-web's session.run(): the input copied in, the logits copied out.
      const t0 = performance.now();
      const input = new litert.Tensor(msg.input, msg.shape);
      const outs = await model.run(input);
      const logits = outs[0].toTypedArray().slice();
      const ms = performance.now() - t0;
      input.delete();
      for (const t of outs) t.delete();
      return { ms, logits: msg.logits ? logits : null };
    }
    case 'release':
      model?.delete();
      model = null;
      return null;
    default:
      throw new Error(`unknown request ${msg.type}`);
  }
}

self.serveRequests(handle);
