// Boot: starts the engine and loads the model (with a progress bar), takes images from every
// input (drop, paste, file picker, webcam, samples), mounts the panels and keeps the nav and the
// `panel` hash key in step with what is on screen.
import { createQuantscope } from 'quantscope';
import { app } from './app.js';
import { initFashionSamples } from './fmnist.js';
import { initInputs, loadSample, SAMPLES, useImage } from './inputs.js';
import { initModelPicker } from './model-picker.js';
import { PANELS, panelOf } from './panels/registry.js';

const MODEL_URL = './models/efficientnet-lite0.onnx';
const META_URL = './models/efficientnet-lite0.json';
const FASHION_URL = './models/fmnist-cnn.onnx';
const FASHION_META_URL = './models/fmnist-cnn.json';
const DEFAULT_SAMPLE = 'coffee.png';

const $ = (sel) => document.querySelector(sel);

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

/** EfficientNet-Lite0's bytes and metadata, fetched once (from this page's own ./models/). */
let builtinFetch = null;
function fetchBuiltin() {
  const progress = $('#model-progress');
  builtinFetch ??= Promise.all([
    fetchBytes(MODEL_URL, (received, total) => {
      if (!total) return; // no Content-Length: the bar stays indeterminate
      progress.max = total;
      progress.value = received;
    }),
    fetchBytes(META_URL, () => {}),
  ]).then(([bytes, meta]) => ({ bytes, metadata: new TextDecoder().decode(meta) }));
  builtinFetch.catch(() => (builtinFetch = null)); // a failed fetch is tried again when picked
  return builtinFetch;
}

/** The Fashion-MNIST CNN's bytes and metadata, fetched once when it is first chosen. */
let fashionFetch = null;
function fetchFashion() {
  fashionFetch ??= Promise.all([fetchBytes(FASHION_URL, () => {}), fetchBytes(FASHION_META_URL, () => {})])
    .then(([bytes, meta]) => ({ bytes, metadata: new TextDecoder().decode(meta) }));
  fashionFetch.catch(() => (fashionFetch = null));
  return fashionFetch;
}

/** The header and footer name the model on show. */
function showModel(info, own, kind) {
  $('#model-name').textContent = `· ${info.name}, ${params(info.parameters)}`;
  $('#model-footer').textContent = own
    ? `Model: ${info.name} (your file ${own.fileName}, ${info.labels} classes; it never leaves this device).`
    : kind === 'fmnist'
      ? `Model: ${info.name} (Fashion-MNIST, ${info.labels} classes; data: Zalando Research, MIT licence).`
      : `Model: ${info.name} (ImageNet, ${info.labels} classes).`;
  if (document.body.dataset.state === 'loading') {
    $('#model-status').hidden = true;
    app.setStatus('ready');
  }
}

const params = (n) => (n >= 1e5 ? `${(n / 1e6).toFixed(1)} M parameters` : `${(n / 1e3).toFixed(1)} k parameters`);

const picker = initModelPicker(app, { builtin: fetchBuiltin, fashion: fetchFashion, onModel: showModel });

async function startEngine() {
  app.setStatus('loading');
  const status = $('#model-status');
  try {
    fetchBuiltin().catch(() => {}); // started at once; reported when it is needed
    const engine = await createQuantscope();
    app._setEngine(engine);
    const build = $('#build');
    const threaded = engine.build.endsWith('-threads');
    const relaxed = engine.build.startsWith('simd-relaxed');
    build.textContent = `${relaxed ? 'relaxed SIMD' : 'SIMD'}${threaded ? ` + ${engine.threads} threads` : ''}`;
    build.dataset.build = `${threaded ? 'mt' : 'st'}${relaxed ? '-relaxed' : ''}`;
    build.dataset.threads = String(engine.threads);
    build.title = engine.fallbackReason
      ? `threads unavailable: ${engine.fallbackReason}`
      : `quantscope ${engine.version}`;
    status.querySelector('label').textContent = 'Preparing the model…';
    await defaultCalibration; // the static variants calibrate on it as soon as the model exists
    await picker.start(engine); // the model kept on this device, else EfficientNet-Lite0
  } catch (e) {
    status.hidden = true;
    app.error(`Could not start: ${e.message}`);
    app.setStatus('error');
  }
}

// ---- panels and navigation -----------------------------------------------------------------

/** The nav links and the panel sections, in registry order. */
function buildPanels() {
  const links = document.getElementById('panel-links');
  const holder = document.getElementById('panels');
  for (const { key, title } of PANELS) {
    const a = document.createElement('a');
    a.href = `#panel=${key}`;
    a.dataset.panel = key;
    a.textContent = title;
    const li = document.createElement('li');
    li.append(a);
    links.append(li);
    const section = document.createElement('section');
    section.className = 'panel';
    section.id = `panel-${key}`;
    section.dataset.panel = key;
    holder.append(section);
  }
}

function mountPanels() {
  for (const { key: name, module } of PANELS) {
    const section = document.getElementById(`panel-${name}`);
    try {
      module.mount(section, app);
    } catch (e) {
      // One broken panel must not take the page down.
      console.error(`panel ${name}`, e);
      const p = document.createElement('p');
      p.className = 'panel-error';
      p.textContent = `This panel could not start: ${e.message}`;
      section.append(p);
    }
  }
}

/** Scrolls a panel into view and moves the keyboard focus to its heading. */
function showPanel(name, { smooth = false } = {}) {
  const section = document.getElementById(`panel-${name}`);
  if (!section) return;
  const heading = section.querySelector('h2');
  const behavior = smooth && matchMedia('(prefers-reduced-motion: no-preference)').matches ? 'smooth' : 'auto';
  section.scrollIntoView({ behavior, block: 'start' });
  if (heading) {
    if (!heading.hasAttribute('tabindex')) heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

function markNav(name) {
  for (const a of document.querySelectorAll('.panel-nav a')) {
    if (a.dataset.panel === name) a.setAttribute('aria-current', 'true');
    else a.removeAttribute('aria-current');
  }
}

function initNav() {
  for (const a of document.querySelectorAll('.panel-nav a')) {
    a.addEventListener('click', (e) => {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return; // new tab: keep the href
      e.preventDefault();
      app.setState({ panel: a.dataset.panel });
      showPanel(a.dataset.panel, { smooth: true });
    });
  }
  // The panel most on screen becomes the hash's `panel`, so a copied URL opens that view.
  const ratios = new Map();
  const observer = new IntersectionObserver(
    (entries) => {
      for (const e of entries) ratios.set(e.target.dataset.panel, e.isIntersecting ? e.intersectionRect.height : 0);
      if (!userScrolled) return;
      const [best] = [...ratios].sort((a, b) => b[1] - a[1]);
      if (best && best[1] > 0 && best[0] !== app.state.panel) app.setState({ panel: best[0] });
    },
    { threshold: [0, 0.25, 0.5, 0.75, 1] },
  );
  for (const s of document.querySelectorAll('section.panel')) observer.observe(s);
  markNav(app.state.panel);
  app.on('state', (s) => markNav(s.panel));
}

// Until the visitor scrolls, a linked panel is kept in view while the panels above it grow.
let userScrolled = false;
for (const type of ['wheel', 'touchmove', 'keydown', 'pointerdown']) {
  addEventListener(type, () => (userScrolled = true), { once: true, passive: true });
}

function followLinkedPanel() {
  const name = app.state.panel;
  if (!name || !panelOf(name)) return;
  showPanel(name);
  const keep = new ResizeObserver(() => {
    if (userScrolled) keep.disconnect();
    else document.getElementById(`panel-${name}`).scrollIntoView({ block: 'start' });
  });
  keep.observe(document.getElementById('panels'));
  setTimeout(() => keep.disconnect(), 60_000);
}

/** The calibration set starts as the sample photos (the visitor can add their own). */
async function sampleCalibration() {
  try {
    const files = await Promise.all(
      SAMPLES.map(async (name) => {
        const res = await fetch(`./samples/${encodeURIComponent(name)}`);
        if (!res.ok) throw new Error(`sample ${name}: HTTP ${res.status}`);
        const blob = await res.blob();
        return { name, blob: new File([blob], name, { type: blob.type }), sample: true };
      }),
    );
    app.setCalibration(files);
  } catch (e) {
    app.error(`Could not load the calibration photos: ${e.message}`);
  }
}

// ---- start -----------------------------------------------------------------------------------

initInputs(app, { onModelFile: (file) => picker.useFile(file) });
initFashionSamples(app, {
  useImage: (file, sample) => useImage(app, file, { sample }),
  usePhoto: () => loadSample(app, DEFAULT_SAMPLE),
});
buildPanels();
mountPanels();
initNav();
followLinkedPanel();
// A link or an edited hash opens its panel (setState() writes with replaceState: no event).
addEventListener('hashchange', () => {
  if (panelOf(app.state.panel)) showPanel(app.state.panel);
});
app.on('state', (s) => {
  // A hash edited by hand (or a pasted link) switches the sample too.
  if (s.sample && s.sample !== app.image?.name && SAMPLES.includes(s.sample)) loadSample(app, s.sample);
});
// A linked Fashion-MNIST test image (sample=fmnist-<i>.png) is put on show with its model.
const fashionLinked = /^fmnist-\d+\.png$/.test(app.state.sample ?? '') && app.state.model === 'fmnist';
const first = SAMPLES.includes(app.state.sample) ? app.state.sample : DEFAULT_SAMPLE;
if (!fashionLinked) loadSample(app, first);
const defaultCalibration = sampleCalibration();
startEngine();
