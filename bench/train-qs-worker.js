// quantscope training in a dedicated module Worker, the peer of train-tfjs-worker.js: the wasm
// build straight from ../pkg (st at 1 thread; mt with a `threads`-thread rayon pool, which needs
// crossOriginIsolated) and its CnnTrainer (src/wasm/train.rs).
// Requests: { id, type: 'init' | 'train', ... } -> { id, ok, result | error }, as in
// train-tfjs-worker.js; the measurement protocol is the same (see train.js).

import { median } from './stats.js';

let mod = null;

async function init({ threads }) {
  const build = threads > 1 ? 'mt' : 'st';
  mod = build === 'mt' ? await import('../pkg/mt/quantscope.js') : await import('../pkg/st/quantscope.js');
  await mod.default();
  let used = 1;
  if (build === 'mt') {
    await mod.initThreadPool(threads);
    used = mod.threadCount();
  }
  if (typeof mod.CnnTrainer !== 'function') throw new Error(`pkg/${build} has no CnnTrainer (src/wasm/train.rs)`);
  const info = mod.buildInfo();
  return {
    build,
    threads: used,
    simd: info.simd,
    threaded: info.threads,
    version: info.version,
    cross_origin_isolated: self.crossOriginIsolated === true,
  };
}

async function train({ images, labels, arch, batch, warmup, windows, windowMs, seed }) {
  // The same hyperparameters as TF.js's model: Adam at a constant rate, no flips, no weight
  // decay; enough epochs that the run never ends during the measurement.
  const trainer = new mod.CnnTrainer(images, labels, {
    seed: seed ?? 1, conv1: arch.conv1, conv2: arch.conv2, hidden: arch.hidden, batch,
    optimizer: 'adam', lr: arch.lr, weightDecay: 0, schedule: 'constant', flip: false, epochs: 1_000_000,
  });
  try {
    const next = () => trainer.train(1);
    const t0 = performance.now();
    const first = next();
    const firstMs = performance.now() - t0;
    for (let i = 0; i < warmup; i++) next();
    const windowIps = [];
    const stepMs = [];
    let last = first;
    for (let w = 0; w < windows; w++) {
      const tw = performance.now();
      let steps = 0;
      do {
        const ts = performance.now();
        last = next();
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
      params: trainer.parameterCount(),
      // The trainer reports the epoch's running mean loss and accuracy.
      first_loss: first.loss,
      last_loss: last.loss,
      last_accuracy: last.accuracy,
      loss_kind: 'epoch mean',
    };
  } finally {
    trainer.free();
  }
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
