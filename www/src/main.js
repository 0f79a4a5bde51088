import { createQuantscope } from 'quantscope';

const MODEL_URL = './models/efficientnet-lite0.onnx';
const META_URL = './models/efficientnet-lite0.json';

const $ = (sel) => document.querySelector(sel);
const els = {
  build: $('#build'),
  modelName: $('#model-name'),
  modelStatus: $('#model-status'),
  progress: $('#model-progress'),
  error: $('#error'),
  predictions: $('#predictions'),
  latency: $('#latency'),
  predictionsInt8: $('#predictions-int8'),
  latencyInt8: $('#latency-int8'),
  weightsInt8: $('#weights-int8'),
  calibStatus: $('#calib-status'),
  calibProgress: $('#calib-progress'),
  agreement: $('#agreement'),
  preprocess: $('#preprocess'),
  preview: $('#preview'),
  hint: $('#drop-hint'),
  fileInput: $('#file-input'),
  overlay: $('#drop-overlay'),
};

const SAMPLES = [...document.querySelectorAll('button.sample')].map((b) => b.dataset.name);

let model = null;
let int8 = null; // the static int8 twin, once calibrated
let current = null; // the image on show
let fp32Result = null;
let request = 0; // the latest classification; older results are dropped
let previewUrl = null;

function setState(state) {
  document.body.dataset.state = state;
}

function showError(message) {
  els.error.textContent = message;
  els.error.hidden = false;
}

function clearError() {
  els.error.hidden = true;
  els.error.textContent = '';
}

/** Fetches a URL into bytes, reporting progress from Content-Length while the body streams. */
async function fetchBytes(url, onProgress) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load ${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get('Content-Length')) || 0;
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.byteLength;
    onProgress(received, total);
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  return bytes;
}

function formatMs(ms) {
  return `${ms.toFixed(1)} ms`;
}

function render(result, list = els.predictions, latency = els.latency) {
  const items = result.top5.map(({ label, prob, index }) => {
    const li = document.createElement('li');
    li.dataset.index = String(index);
    const name = document.createElement('span');
    name.className = 'label';
    name.textContent = label;
    const pct = document.createElement('span');
    pct.className = 'prob';
    pct.textContent = `${(prob * 100).toFixed(1)}%`;
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.setAttribute('aria-hidden', 'true');
    const fill = document.createElement('span');
    fill.style.width = `${Math.max(0, Math.min(1, prob)) * 100}%`;
    bar.append(fill);
    li.append(name, pct, bar);
    return li;
  });
  list.replaceChildren(...items);
  latency.textContent = formatMs(result.ms);
  if (list === els.predictions) {
    els.preprocess.textContent = `(+ ${formatMs(result.preprocess_ms)} to decode and resize)`;
  }
}

/** How far int8 is from fp32 on this image: same top-1, shared top-5 classes. */
function renderAgreement(a, b) {
  if (!a || !b) {
    els.agreement.textContent = '';
    return;
  }
  const same = a.top5[0].index === b.top5[0].index;
  const shared = a.top5.filter((p) => b.top5.some((q) => q.index === p.index)).length;
  els.agreement.dataset.sameTop1 = String(same);
  els.agreement.textContent =
    `${same ? 'Same' : 'Different'} top-1; ${shared} of 5 classes shared. ` +
    `int8 took ${(b.ms / a.ms).toFixed(2)}× the float time.`;
}

/** Runs the int8 twin on the image on show (when both exist). */
async function classifyInt8(mine) {
  if (!int8 || !current) return;
  els.predictionsInt8.setAttribute('aria-busy', 'true');
  try {
    const result = await classifyWith(int8, current);
    if (mine !== request) return;
    render(result, els.predictionsInt8, els.latencyInt8);
    renderAgreement(fp32Result, result);
  } finally {
    if (mine === request) els.predictionsInt8.removeAttribute('aria-busy');
  }
}

async function classifyWith(m, blob) {
  try {
    return await m.classify(blob);
  } catch (engineError) {
    // Formats the engine cannot decode (e.g. AVIF): let the browser decode them, off-thread.
    let bitmap;
    try {
      bitmap = await createImageBitmap(blob);
    } catch {
      throw engineError;
    }
    return m.classify(bitmap);
  }
}

function showPreview(blob) {
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(blob);
  els.preview.src = previewUrl;
  els.preview.alt = blob.name ? `Your image: ${blob.name}` : 'Your image';
  els.preview.hidden = false;
  els.hint.classList.add('compact');
}

els.preview.addEventListener('error', () => {
  // Not an image the browser can show (the engine reports its own error).
  els.preview.hidden = true;
  els.hint.classList.remove('compact');
});

async function classify(blob) {
  if (!blob) return;
  const mine = ++request;
  clearError();
  showPreview(blob);
  if (!model) {
    showError('The model is not loaded yet.');
    return;
  }
  setState('classifying');
  els.predictions.setAttribute('aria-busy', 'true');
  current = blob;
  fp32Result = null;
  els.agreement.textContent = '';
  try {
    const result = await classifyWith(model, blob);
    if (mine !== request) return;
    fp32Result = result;
    render(result);
    await classifyInt8(mine);
    if (mine !== request) return;
    setState('ready');
  } catch (e) {
    if (mine !== request) return;
    current = null;
    els.predictions.replaceChildren();
    els.predictionsInt8.replaceChildren();
    els.latency.textContent = '–';
    els.latencyInt8.textContent = '–';
    els.preprocess.textContent = '';
    const name = blob.name ? `“${blob.name}”` : 'this image';
    showError(`Could not classify ${name}: ${e.message}`);
    setState('error');
  } finally {
    if (mine === request) els.predictions.removeAttribute('aria-busy');
  }
}

function firstImage(files) {
  for (const f of files ?? []) if (f.type.startsWith('image/') || f.type === '') return f;
  return files?.[0] ?? null;
}

// ---- inputs --------------------------------------------------------------------------------

els.fileInput.addEventListener('change', () => {
  const file = els.fileInput.files?.[0];
  if (file) classify(file);
  els.fileInput.value = ''; // choosing the same file again classifies it again
});

for (const button of document.querySelectorAll('button.sample')) {
  button.addEventListener('click', async () => {
    const name = button.dataset.name;
    try {
      const res = await fetch(`./samples/${encodeURIComponent(name)}`);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const blob = await res.blob();
      classify(new File([blob], name, { type: blob.type }));
    } catch (e) {
      showError(`Could not load the sample ${name}: ${e.message}`);
      setState('error');
    }
  });
}

let dragDepth = 0;
const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
document.addEventListener('dragenter', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth++;
  document.body.classList.add('dragging');
});
document.addEventListener('dragover', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = 'copy';
});
document.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) document.body.classList.remove('dragging');
});
document.addEventListener('drop', (e) => {
  e.preventDefault();
  dragDepth = 0;
  document.body.classList.remove('dragging');
  const file = firstImage(e.dataTransfer?.files);
  if (file) classify(file);
});

document.addEventListener('paste', (e) => {
  const files = [...(e.clipboardData?.items ?? [])]
    .filter((item) => item.kind === 'file')
    .map((item) => item.getAsFile())
    .filter(Boolean);
  const file = firstImage(files);
  if (file) {
    e.preventDefault();
    classify(file);
  }
});

// ---- start -----------------------------------------------------------------------------------

async function start() {
  setState('loading');
  try {
    const enginePromise = createQuantscope();
    const onModelProgress = (received, total) => {
      if (!total) return; // no Content-Length: the bar stays indeterminate
      els.progress.max = total;
      els.progress.value = received;
    };
    const [engine, onnx, meta] = await Promise.all([
      enginePromise,
      fetchBytes(MODEL_URL, onModelProgress),
      fetchBytes(META_URL, () => {}),
    ]);
    const threaded = engine.build === 'simd-threads';
    els.build.textContent = threaded ? `SIMD + ${engine.threads} threads` : 'SIMD';
    els.build.dataset.build = threaded ? 'mt' : 'st';
    els.build.dataset.threads = String(engine.threads);
    els.build.title = engine.fallbackReason
      ? `threads unavailable: ${engine.fallbackReason}`
      : `quantscope ${engine.version}`;
    els.modelStatus.querySelector('label').textContent = 'Preparing the model…';
    model = await engine.loadModel(onnx, new TextDecoder().decode(meta));
    const info = await model.info();
    els.modelName.textContent = `· ${info.name}, ${(info.parameters / 1e6).toFixed(1)} M parameters`;
    els.modelStatus.hidden = true;
    setState('ready');
    calibrate(info.weight_bytes);
  } catch (e) {
    els.modelStatus.hidden = true;
    showError(`Could not start: ${e.message}`);
    setState('error');
  }
}

/** Builds the int8 twin, calibrated on the sample photos, with a progress bar. */
async function calibrate(fp32Bytes) {
  document.body.dataset.int8 = 'calibrating';
  try {
    const calibration = await Promise.all(
      SAMPLES.map(async (name) => {
        const res = await fetch(`./samples/${encodeURIComponent(name)}`);
        if (!res.ok) throw new Error(`sample ${name}: HTTP ${res.status}`);
        return new Uint8Array(await res.arrayBuffer());
      }),
    );
    els.calibProgress.max = calibration.length;
    const q = await model.quantize({
      mode: 'static',
      observer: 'minmax',
      perChannel: true,
      calibration,
      onProgress: (done) => {
        els.calibProgress.value = done;
      },
    });
    const info = await q.info();
    els.weightsInt8.textContent = `(weights ${(info.weight_bytes / 1e6).toFixed(1)} MB vs ${(fp32Bytes / 1e6).toFixed(1)} MB)`;
    int8 = q;
    els.calibStatus.hidden = true;
    document.body.dataset.int8 = 'ready';
    if (current && document.body.dataset.state === 'ready') await classifyInt8(request);
  } catch (e) {
    els.calibStatus.hidden = true;
    document.body.dataset.int8 = 'error';
    showError(`Could not build the int8 model: ${e.message}`);
  }
}

start();
