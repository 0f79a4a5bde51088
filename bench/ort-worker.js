// onnxruntime-web in a dedicated module Worker, the peer of quantscope's engine worker (which
// also runs its wasm off the main thread). wasm backend only; the runtime files are served from
// this origin (bench/node_modules/onnxruntime-web/dist/), nothing is fetched elsewhere.
// Requests: { id, type: 'init' | 'load' | 'run' | 'release', ... } -> { id, ok, result | error }.
import * as ort from './node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';
import './worker-rpc.js';

const DIST = new URL('./node_modules/onnxruntime-web/dist/', import.meta.url).href;
let session = null;

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
      session = await ort.InferenceSession.create(new Uint8Array(msg.model), {
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
      return { ms, logits: msg.logits ? out[session.outputNames[0]].data : null };
    }
    case 'release':
      if (session) await session.release();
      session = null;
      return null;
    default:
      throw new Error(`unknown request ${msg.type}`);
  }
}

self.serveRequests(handle);
