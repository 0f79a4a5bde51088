// onnxruntime-web in a dedicated module Worker, the peer of quantscope's engine worker (which
// also runs its wasm off the main thread). wasm backend only; the runtime files are served from
// this origin (bench/node_modules/onnxruntime-web/dist/), nothing is fetched elsewhere.
// Requests: { id, type: 'init' | 'load' | 'run' | 'release', ... } -> { id, ok, result | error }.
import * as ort from './node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';

const DIST = new URL('./node_modules/onnxruntime-web/dist/', import.meta.url).href;
let session = null;

function argmaxTop5(logits) {
  const idx = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]).slice(0, 5);
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  return idx.map((i) => ({ index: i, prob: Math.exp(logits[i] - max) / sum }));
}

async function handle(msg) {
  switch (msg.type) {
    case 'init':
      ort.env.wasm.numThreads = msg.threads;
      ort.env.wasm.wasmPaths = DIST;
      ort.env.wasm.proxy = false; // already off the main thread
      // ort.env.wasm.simd: left at its default.
      return {
        version: ort.env.versions?.web ?? null,
        cross_origin_isolated: self.crossOriginIsolated === true,
        num_threads: ort.env.wasm.numThreads,
      };
    case 'load': {
      if (session) await session.release();
      session = null;
      const t0 = performance.now();
      session = await ort.InferenceSession.create(new Uint8Array(msg.onnx), {
        executionProviders: ['wasm'],
        graphOptimizationLevel: 'all',
      });
      return { load_ms: performance.now() - t0, inputs: session.inputNames, outputs: session.outputNames };
    }
    case 'run': {
      if (!session) throw new Error('no model loaded');
      const input = new ort.Tensor('float32', msg.input, msg.shape);
      const t0 = performance.now();
      const out = await session.run({ [session.inputNames[0]]: input });
      const ms = performance.now() - t0;
      const logits = out[session.outputNames[0]].data;
      return { ms, top5: msg.top5 ? argmaxTop5(logits) : null };
    }
    case 'release':
      if (session) await session.release();
      session = null;
      return null;
    default:
      throw new Error(`unknown request ${msg.type}`);
  }
}

self.onmessage = async (event) => {
  const { id } = event.data;
  try {
    self.postMessage({ id, ok: true, result: await handle(event.data) });
  } catch (e) {
    self.postMessage({ id, ok: false, error: String(e?.stack ?? e) });
  }
};
