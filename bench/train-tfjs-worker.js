// TensorFlow.js training in a dedicated (classic) Worker, the peer of quantscope's training
// worker (train-qs-worker.js). The UMD bundles come from bench/node_modules on this origin
// (the wasm backend's fesm bundle imports bare and node-only modules, the UMD one does not).
// Requests: { id, type: 'init' | 'train', ... } -> { id, ok, result | error }.
//   init  { backend: 'cpu' | 'webgl' | 'webgpu' | 'wasm', threads }: picks the backend (wasm: the
//         single-threaded SIMD build at 1 thread, the threaded SIMD build with `threads` pthreads
//         otherwise), builds the CNN of train.js's ARCH and compiles it with Adam;
//   train { images, labels, count, ...PROTOCOL }: trains on batches taken in order from the
//         `count` images (uint8, 28x28, as `(p - mean) / std`) and measures as train.js says.
/* global tf, importScripts */
importScripts('./node_modules/@tensorflow/tfjs/dist/tf.min.js',
  './node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js');

let model = null;

/** conv3x3(c1)-BN-ReLU-maxpool2, conv3x3(c2)-BN-ReLU-maxpool2, flatten, dense(h)-ReLU, dense(10). */
function build(arch, seed) {
  const { conv1, conv2, hidden, classes, side } = arch;
  const init = (s) => tf.initializers.heNormal({ seed: seed + s });
  const block = (filters, s, inputShape) => [
    tf.layers.conv2d({ ...(inputShape ? { inputShape } : {}), filters, kernelSize: 3, padding: 'same',
      useBias: arch.convBias, kernelInitializer: init(s) }),
    tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 }),
    tf.layers.reLU(),
    tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
  ];
  const m = tf.sequential({
    layers: [
      ...block(conv1, 1, [side, side, 1]),
      ...block(conv2, 2),
      tf.layers.flatten(),
      tf.layers.dense({ units: hidden, activation: 'relu', kernelInitializer: init(3) }),
      tf.layers.dense({ units: classes, kernelInitializer: init(4) }), // logits
    ],
  });
  m.compile({
    optimizer: tf.train.adam(arch.lr),
    loss: (y, logits) => tf.losses.softmaxCrossEntropy(y, logits),
    metrics: ['accuracy'],
  });
  return m;
}

function renderer() {
  try {
    const gl = tf.backend().gpgpu.gl;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    return ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
  } catch {
    return null;
  }
}

async function adapterName() {
  try {
    const a = await self.navigator.gpu.requestAdapter();
    const i = a?.info ?? {};
    return [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' ') || 'WebGPU adapter';
  } catch {
    return null;
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function init({ backend, threads, arch, seed }) {
  if (backend === 'webgpu') {
    if (!self.navigator.gpu) throw new Error('no navigator.gpu in this Worker (WebGPU is off)');
    importScripts('./node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js');
  }
  if (backend === 'wasm') {
    tf.wasm.setWasmPaths(new URL('./node_modules/@tensorflow/tfjs-backend-wasm/dist/', self.location.href).href);
    if (threads > 1) tf.wasm.setThreadsCount(threads);
    else tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} did not initialise`);
  await tf.ready();
  const used = tf.getBackend();
  if (used !== backend) throw new Error(`TF.js fell back to ${used} instead of ${backend}`);
  model?.dispose();
  model = build(arch, seed);
  const wasmThreads = backend === 'wasm' ? tf.backend().wasm?.tfjs?.getThreadsCount?.() ?? null : null;
  return {
    version: tf.version.tfjs,
    backend: used,
    renderer: backend === 'webgl' ? renderer() : backend === 'webgpu' ? await adapterName() : null,
    wasm_multithread: backend === 'wasm' ? tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') : null,
    wasm_simd: backend === 'wasm' ? tf.env().getBool('WASM_HAS_SIMD_SUPPORT') : null,
    wasm_threads: wasmThreads,
    params: model.countParams(),
    cross_origin_isolated: self.crossOriginIsolated === true,
  };
}

/** One optimizer step on the batch starting at image `start`: { loss, accuracy }. */
async function step(images, labels, count, start, batch, { side, mean, std }) {
  const px = side * side;
  const x = new Float32Array(batch * px);
  const y = new Float32Array(batch * 10);
  for (let b = 0; b < batch; b++) {
    const i = (start + b) % count;
    const src = images.subarray(i * px, (i + 1) * px);
    for (let p = 0; p < px; p++) x[b * px + p] = (src[p] - mean) / std;
    y[b * 10 + labels[i]] = 1;
  }
  const xs = tf.tensor4d(x, [batch, side, side, 1]);
  const ys = tf.tensor2d(y, [batch, 10]);
  try {
    const [loss, accuracy] = await model.trainOnBatch(xs, ys);
    return { loss, accuracy };
  } finally {
    xs.dispose();
    ys.dispose();
  }
}

async function train({ images, labels, count, arch, batch, warmup, windows, windowMs }) {
  let start = 0;
  const next = async () => {
    const r = await step(images, labels, count, start, batch, arch);
    start = (start + batch) % count;
    return r;
  };
  const t0 = performance.now();
  const first = await next();
  const firstMs = performance.now() - t0;
  for (let i = 0; i < warmup; i++) await next();
  const windowIps = [];
  const stepMs = [];
  let last = first;
  for (let w = 0; w < windows; w++) {
    const tw = performance.now();
    let steps = 0;
    do {
      const ts = performance.now();
      last = await next();
      stepMs.push(performance.now() - ts);
      steps++;
    } while (performance.now() - tw < windowMs);
    windowIps.push((steps * batch * 1000) / (performance.now() - tw));
  }
  return {
    images_per_s: median(windowIps),
    window_images_per_s: windowIps,
    median_step_ms: median(stepMs),
    timed_steps: stepMs.length,
    first_step_ms: firstMs,
    first_loss: first.loss,
    last_loss: last.loss,
    last_accuracy: last.accuracy,
    tensors: tf.memory().numTensors,
  };
}

self.onmessage = async (event) => {
  const { id, type } = event.data;
  try {
    let result;
    if (type === 'init') result = await init(event.data);
    else if (type === 'train') result = await train(event.data);
    else throw new Error(`unknown request ${type}`);
    self.postMessage({ id, ok: true, result });
  } catch (e) {
    self.postMessage({ id, ok: false, error: String(e?.stack ?? e) });
  }
};
