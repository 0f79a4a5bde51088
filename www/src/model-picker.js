// The model picker: EfficientNet-Lite0 or the Fashion-MNIST CNN (both built in; the hash key
// `model=fmnist` opens the second) or the visitor's own .onnx file, chosen with
// the file picker or dropped on the page. A small form says what the file cannot (labels, input
// size, normalisation, channel order, layout, resize), prefilled from the engine's reading of the
// graph (model.info().metadata). The model lives in this tab, and in IndexedDB when the visitor
// ticks "keep this model on this device"; it is never uploaded. A file or setting the engine
// refuses shows the engine's message, and the model in use stays in use.
import { el, formatBytes } from './panels/dom.js';
import { forgetKept, readKept, setKeptOpen, writeKept } from './model-store.js';

const BUILTIN = 'builtin';
const FASHION = 'fmnist';
const OWN = 'own';
/** The built-in models: radio id, label, note, and the hash's `model` value (none for the default). */
const BUILTINS = {
  [BUILTIN]: { id: 'model-builtin', name: 'EfficientNet-Lite0', note: '(built in: ImageNet, 1000 classes)', hash: null },
  [FASHION]: { id: 'model-fmnist', name: 'Fashion-MNIST CNN', note: '(built in: 28×28 grey clothing pictures, 10 classes; trained by quantscope)', hash: FASHION },
};

/** True for a file the picker (not the image input) should take: an .onnx by its name. */
export function isModelFile(file) {
  return Boolean(file && /\.onnx$/i.test(file.name ?? ''));
}

/** "my-net.onnx" -> "my-net". */
const stem = (name) => String(name ?? '').replace(/\.onnx$/i, '') || 'ONNX model';

/** torchvision's default: the input box's shorter side scaled by 256/224 before the centre cut. */
export const defaultShorter = (h, w) => Math.round((Math.min(h, w) * 256) / 224);

/**
 * Labels from a text file: one per line (blank lines skipped), or a JSON array of strings, or a
 * JSON object { "0": "tench", ... } / { "0": ["n01440764", "tench"], ... } (Keras' class index).
 */
export function parseLabels(text, fileName = 'labels') {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (/\.json$/i.test(fileName) || trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let data;
    try {
      data = JSON.parse(trimmed);
    } catch (e) {
      throw new Error(`${fileName} is not valid JSON (${e.message})`);
    }
    const name = (v) => (Array.isArray(v) ? v[v.length - 1] : v);
    const list = Array.isArray(data)
      ? data
      : data && typeof data === 'object'
        ? Object.keys(data).sort((a, b) => Number(a) - Number(b)).map((k) => name(data[k]))
        : null;
    if (!list || !list.every((l) => typeof l === 'string' || typeof l === 'number')) {
      throw new Error(`${fileName}: expected a JSON array of labels, e.g. ["cat", "dog"]`);
    }
    return list.map(String);
  }
  return trimmed.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
}

/**
 * `initModelPicker(app, { builtin, onModel })` builds the picker in #model-picker and returns
 * `{ start, useFile }`: `start(engine)` loads the kept model if there is one (else the built-in
 * one the hash names, EfficientNet-Lite0 by default), `useFile(file)` takes a dropped or chosen
 * .onnx. `builtin()` and `fashion()` resolve to `{ bytes, metadata }` of EfficientNet-Lite0 and
 * of the Fashion-MNIST CNN; `onModel(info, own)` runs before each model goes on show (`own`:
 * { fileName } for the visitor's).
 */
export function initModelPicker(app, { builtin: fetchBuiltin, fashion: fetchFashion, onModel }) {
  const fetchers = { [BUILTIN]: fetchBuiltin, [FASHION]: fetchFashion };
  const root = document.getElementById('model-picker');

  // ---- the controls ----
  const fileInput = el('input', { type: 'file', id: 'model-file', accept: '.onnx', class: 'visually-hidden' });
  const radios = Object.fromEntries(Object.entries(BUILTINS).map(([kind, b]) => [kind,
    el('input', { type: 'radio', name: 'model-choice', id: b.id, value: kind, checked: kind === BUILTIN })]));
  const ownRadio = el('input', { type: 'radio', name: 'model-choice', id: 'model-own', value: OWN });
  const ownFile = el('span', { class: 'model-file-name', id: 'model-own-name' });
  const choose = el('label', { for: 'model-file', class: 'button', text: 'Choose an .onnx file…' });
  const error = el('div', { class: 'model-error', id: 'model-error', role: 'alert', hidden: true });
  const status = el('p', { class: 'note', id: 'model-load-status', role: 'status' });
  const kept = el('p', { class: 'model-kept', id: 'model-kept', hidden: true });
  const form = buildForm();

  root.append(
    el('h2', { id: 'model-heading', text: 'Model' }),
    el('fieldset', { class: 'model-choice' },
      el('legend', { class: 'visually-hidden', text: 'Which model' }),
      ...Object.entries(BUILTINS).map(([kind, b]) => el('label', { class: 'check' }, radios[kind], ` ${b.name} `,
        el('span', { class: 'note', text: b.note }))),
      el('label', { class: 'check' }, ownRadio, ' Your own .onnx ', ownFile),
      el('span', { class: 'model-own-actions' }, fileInput, choose,
        el('span', { class: 'note', text: ' or drop it anywhere on the page. It stays on this device: nothing is uploaded.' }))),
    kept, status, error, form.node,
  );

  // ---- what is loaded ----
  let qs = null;
  const builtins = new Map(); // kind -> { model, info } once loaded (kept loaded: switching back is instant)
  let own = null; // { fileName, bytes, metadata, model, info }: the visitor's model in use or last used
  let active = null; // BUILTIN | FASHION | OWN
  let keptRecord = null; // what IndexedDB holds: { fileName, bytes, metadata, open } or null
  let busy = Promise.resolve();

  /** Runs model loads one after the other (a second drop waits for the first). */
  const serial = (label, task) => {
    const run = busy.then(task, task);
    busy = run.catch(() => {});
    return app.busy(label, run);
  };

  function showError(message) {
    error.textContent = message ?? '';
    error.hidden = !message;
  }

  function markActive() {
    for (const [kind, radio] of Object.entries(radios)) radio.checked = active === kind;
    ownRadio.checked = active === OWN;
    ownFile.textContent = own ? `(${own.fileName})` : '';
    form.node.hidden = active !== OWN;
    document.body.dataset.model = active ?? '';
  }

  /** Puts a loaded fp32 model on show; the visitor's previous model (not the built-in) is freed. */
  function activate(kind, model, info) {
    const previous = app.model;
    active = kind;
    onModel?.(info, kind === OWN ? own : null, kind);
    app._setModel(model, info);
    markActive();
    const isBuiltin = (m) => [...builtins.values()].some((b) => b.model === m);
    if (previous && previous !== model && !isBuiltin(previous)) previous.dispose().catch(() => {});
    app.setState({ model: kind === OWN ? null : BUILTINS[kind].hash });
    if (kind === OWN && form.keep.checked) {
      const same = keptRecord && keptRecord.bytes === own.bytes
        && JSON.stringify(keptRecord.metadata) === JSON.stringify(own.metadata);
      if (!same) keep();
      else if (keptRecord.open === false) markKeptOpen(true);
    }
    // The kept model stays kept, but the page now opens on a built-in model and offers it.
    if (kind !== OWN && keptRecord && keptRecord.open !== false) markKeptOpen(false);
    offerKept();
  }

  function markKeptOpen(open) {
    keptRecord.open = open;
    setKeptOpen(open).catch((e) => console.warn('quantscope page: IndexedDB', e));
  }

  /** "Kept on this device: net.onnx (4 MB) [Open it] [Forget it]" while another model is on show. */
  function offerKept() {
    if (!keptRecord || active === OWN) {
      kept.hidden = true;
      return;
    }
    const record = keptRecord;
    const open = el('button', { type: 'button', id: 'model-kept-open', text: 'Open it' });
    const drop = el('button', { type: 'button', id: 'model-kept-forget', text: 'Forget it' });
    open.addEventListener('click', () => {
      showError(null);
      form.keep.checked = true;
      serial(`Loading ${record.fileName}…`, () => loadOwn(record.fileName, record.bytes, record.metadata)
        .catch((e) => {
          showError(`The kept model ${record.fileName} could not be loaded: ${e.message}. ${inUse()}`);
          markActive();
        }));
    });
    drop.addEventListener('click', () => forget().then(offerKept));
    kept.replaceChildren(`Kept on this device: ${record.fileName} (${formatBytes(record.bytes.byteLength)}). `, open, ' ', drop);
    kept.hidden = false;
  }

  async function useBuiltin(kind = BUILTIN) {
    if (!builtins.has(kind)) {
      const { bytes, metadata } = await fetchers[kind]();
      const model = await qs.loadModel(bytes, metadata);
      builtins.set(kind, { model, info: await model.info() });
    }
    const b = builtins.get(kind);
    activate(kind, b.model, b.info);
  }

  /** Loads `bytes` with `metadata` as the visitor's model; rejects (nothing changes) on error. */
  async function loadOwn(fileName, bytes, metadata) {
    const model = await qs.loadModel(bytes.slice(), metadata);
    let info;
    try {
      info = await model.info();
    } catch (e) {
      model.dispose().catch(() => {});
      throw e;
    }
    own = { fileName, bytes, metadata: info.metadata ?? metadata, model, info };
    activate(OWN, model, info);
    form.fill(own);
    return own;
  }

  /** A new .onnx file: read with the engine's defaults, then the form shows what it read. */
  function useFile(file) {
    if (!isModelFile(file)) return;
    showError(null);
    return serial(`Loading ${file.name}…`, async () => {
      status.textContent = `Reading ${file.name} (${formatBytes(file.size)})…`;
      try {
        if (!qs) throw new Error('the engine is still starting; try again in a moment');
        const bytes = new Uint8Array(await file.arrayBuffer());
        if (bytes.byteLength === 0) throw new Error('the file is empty');
        await loadOwn(file.name, bytes, { name: stem(file.name) });
        status.textContent = `${file.name} is in use with the settings read from the file. Check them below; “Use these settings” reloads it.`;
      } catch (e) {
        status.textContent = '';
        showError(`“${file.name}” could not be loaded: ${e.message}. ${inUse()}`);
        markActive();
      }
    });
  }

  const inUse = () => (app.modelInfo ? `${app.modelInfo.name} is still in use.` : '');

  /** The form's settings: the visitor's model again with them. */
  function applyForm() {
    if (!own) return;
    return serial('Reloading your model…', async () => {
      form.status('');
      let metadata;
      try {
        metadata = form.read();
      } catch (e) {
        form.status(e.message, true);
        return;
      }
      if (active === OWN && JSON.stringify(metadata) === JSON.stringify(form.applied)) {
        form.status('These are the settings in use.');
        return;
      }
      try {
        await loadOwn(own.fileName, own.bytes, metadata);
        form.status(`In use: ${own.info.name}, ${own.info.labels} classes.`);
      } catch (e) {
        form.status(`The engine refused these settings: ${e.message}. ${inUse()}`, true);
        markActive();
      }
    });
  }

  // ---- kept on this device ----
  async function keep() {
    if (!own) return;
    const record = { fileName: own.fileName, bytes: own.bytes, metadata: own.metadata, savedAt: Date.now(), open: true };
    try {
      await writeKept(record);
      keptRecord = { ...record, bytes: own.bytes };
      form.keepNote(`Kept on this device (${formatBytes(own.bytes.byteLength)}); it opens with the page.`);
    } catch (e) {
      form.keep.checked = false;
      form.keepNote(`Could not keep it on this device: ${e.message}`, true);
    }
  }
  async function forget() {
    try {
      await forgetKept();
      keptRecord = null;
      form.keep.checked = false;
      form.keepNote('Not kept: it is gone when this tab closes.');
    } catch (e) {
      form.keepNote(`Could not forget it: ${e.message}`, true);
    }
  }

  // ---- wiring ----
  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    fileInput.value = ''; // the same file again is a new choice
    if (file) useFile(file);
  });
  // A panel can ask for a built-in model (the Accuracy panel on a model it cannot measure).
  app.on('choose-model', (kind) => {
    const radio = radios[kind];
    if (radio && active !== kind) radio.click();
  });
  for (const [kind, radio] of Object.entries(radios)) {
    radio.addEventListener('change', () => {
      if (!radio.checked || active === kind) return;
      showError(null);
      const { name } = BUILTINS[kind];
      serial(`Loading ${name}…`, () => useBuiltin(kind).catch((e) => {
        showError(`${name} could not be loaded: ${e.message}. ${inUse()}`);
        markActive();
      }));
    });
  }
  ownRadio.addEventListener('change', () => {
    if (!ownRadio.checked || active === OWN) return;
    if (!own) {
      // Nothing chosen yet: the file dialog (the radio follows once a model loads).
      markActive();
      fileInput.click();
      return;
    }
    showError(null);
    serial(`Loading ${own.fileName}…`, () => loadOwn(own.fileName, own.bytes, own.metadata).catch((e) => {
      showError(`“${own.fileName}” could not be loaded: ${e.message}. ${inUse()}`);
      markActive();
    }));
  });
  form.node.addEventListener('submit', (e) => {
    e.preventDefault();
    applyForm();
  });
  form.keep.addEventListener('change', () => (form.keep.checked ? keep() : forget()));

  /**
   * The kept model if there is one and it was on show when the page was left, else the built-in
   * one (a kept model is then offered).
   */
  async function start(engine) {
    qs = engine;
    let stored = null;
    try {
      stored = await readKept();
    } catch (e) {
      console.warn('quantscope page: IndexedDB unavailable', e);
    }
    keptRecord = stored && { ...stored, bytes: new Uint8Array(stored.bytes) };
    if (stored && stored.open !== false) {
      form.keep.checked = true;
      kept.hidden = false;
      kept.textContent = `Opening the model kept on this device: ${stored.fileName} (${formatBytes(stored.bytes.byteLength)}).`;
      try {
        await serial(`Loading ${stored.fileName}…`, () => loadOwn(stored.fileName, keptRecord.bytes, stored.metadata));
        kept.textContent = `${stored.fileName} was kept on this device and opened with the page. Untick “Keep” below to forget it.`;
        kept.hidden = false;
        form.keepNote(`Kept on this device (${formatBytes(stored.bytes.byteLength)}); it opens with the page.`);
        return;
      } catch (e) {
        form.keep.checked = false;
        kept.textContent = '';
        kept.hidden = true;
        showError(`The model kept on this device (${stored.fileName}) could not be loaded: ${e.message}. Using EfficientNet-Lite0; choose the file again to replace it.`);
      }
    }
    // The hash names the built-in model of a link (model=fmnist); a bad one falls back.
    const linked = app.state.model === FASHION ? FASHION : BUILTIN;
    try {
      await serial(`Loading ${BUILTINS[linked].name}…`, () => useBuiltin(linked));
    } catch (e) {
      if (linked === BUILTIN) throw e;
      showError(`${BUILTINS[linked].name} could not be loaded: ${e.message}. Using EfficientNet-Lite0.`);
      await serial('Loading EfficientNet-Lite0…', () => useBuiltin(BUILTIN));
    }
  }

  markActive();
  return { start, useFile };

  // ---- the form ----
  function buildForm() {
    const num = (id, attrs = {}) => el('input', { type: 'number', id, inputmode: 'decimal', step: 'any', ...attrs });
    const name = el('input', { type: 'text', id: 'model-meta-name', autocomplete: 'off', spellcheck: 'false' });
    const labelsFile = el('input', { type: 'file', id: 'model-labels-file', accept: '.txt,.json,text/plain,application/json', class: 'visually-hidden' });
    const labelsNote = el('span', { class: 'note', id: 'model-labels-note' });
    const labelsClear = el('button', { type: 'button', id: 'model-labels-clear', text: 'Numbered labels', hidden: true });
    const h = num('model-input-h', { min: 1, max: 4096, step: 1 });
    const w = num('model-input-w', { min: 1, max: 4096, step: 1 });
    const dimsNote = el('span', { class: 'note', id: 'model-dims-note' });
    const layout = el('select', { id: 'model-layout' },
      el('option', { value: 'NCHW', text: 'NCHW (channels first: PyTorch)' }),
      el('option', { value: 'NHWC', text: 'NHWC (channels last: TensorFlow, Keras)' }));
    const resize = el('select', { id: 'model-resize' },
      el('option', { value: 'crop', text: 'centre crop (aspect kept)' }),
      el('option', { value: 'stretch', text: 'stretch to the input size' }));
    const shorter = num('model-resize-shorter', { min: 1, max: 4096, step: 1 });
    const shorterField = el('span', { class: 'model-shorter' },
      el('label', { for: 'model-resize-shorter', text: ' after scaling the shorter side to ' }), shorter, ' px');
    const normMeanStd = el('input', { type: 'radio', name: 'model-norm', id: 'model-norm-meanstd', value: 'meanstd' });
    const normScale = el('input', { type: 'radio', name: 'model-norm', id: 'model-norm-scale', value: 'scale' });
    const mean = [0, 1, 2].map((i) => num(`model-mean-${i}`, { 'aria-label': `mean ${'RGB'[i]}` }));
    const std = [0, 1, 2].map((i) => num(`model-std-${i}`, { 'aria-label': `std ${'RGB'[i]}` }));
    const scale = num('model-scale', { 'aria-label': 'scale' });
    const meanStdRow = el('span', { class: 'model-meanstd' }, 'mean ', ...mean, ' std ', ...std);
    const scaleRow = el('span', { class: 'model-scale' }, 'pixel × ', scale, el('span', { class: 'note', text: ' (e.g. 0.00392 = 1/255 for 0..1 inputs)' }));
    const channels = el('select', { id: 'model-channels' },
      el('option', { value: 'RGB', text: 'RGB' }), el('option', { value: 'BGR', text: 'BGR (Caffe, OpenCV)' }));
    const keepBox = el('input', { type: 'checkbox', id: 'model-keep' });
    const keepNote = el('span', { class: 'note', id: 'model-keep-note' });
    const apply = el('button', { type: 'submit', id: 'model-apply', text: 'Use these settings' });
    const statusLine = el('p', { class: 'note', id: 'model-form-status', role: 'status' });

    const row = (label, ...content) => el('div', { class: 'model-row' }, el('span', { class: 'model-row-label', text: label }), el('span', { class: 'model-row-fields' }, ...content));
    const node = el('form', { class: 'model-form', id: 'model-form', hidden: true, novalidate: true },
      el('p', { class: 'note', text: 'What the file cannot say, prefilled from its graph: check it against how the model was trained, then use these settings.' }),
      row('Name', name),
      row('Labels', labelsFile, el('label', { for: 'model-labels-file', class: 'button', text: 'A labels file (.txt, one per line, or .json)…' }), ' ', labelsClear, ' ', labelsNote),
      row('Input', el('label', { for: 'model-input-h', text: 'height ' }), h, el('label', { for: 'model-input-w', text: ' width ' }), w, ' ', dimsNote),
      row('Layout', layout),
      row('Resize', resize, shorterField),
      row('Normalise', el('span', {}, normMeanStd, el('label', { for: 'model-norm-meanstd', text: ' (pixel − mean) / std, on 0..255 ' })),
        meanStdRow, el('span', {}, normScale, el('label', { for: 'model-norm-scale', text: ' one scale ' })), scaleRow),
      row('Channels', channels),
      el('div', { class: 'model-row model-actions' }, apply,
        el('label', { class: 'check' }, keepBox, ' Keep this model on this device'), ' ', keepNote),
      statusLine);

    let labels = null; // from a labels file, or null: the engine's "class 0".."class N-1"
    let outputs = 0; // the output's size
    let fileDims = []; // the file's own input dims (null where it leaves one open)
    let channelCount = 3;
    const form = {
      node,
      keep: keepBox,
      applied: null,
      status(text, isError = false) {
        statusLine.textContent = text;
        statusLine.classList.toggle('error', isError);
        statusLine.setAttribute('role', isError ? 'alert' : 'status');
      },
      keepNote(text, isError = false) {
        keepNote.textContent = text;
        keepNote.classList.toggle('error', isError);
      },
      /** Prefills from the model in use: its resolved metadata and what the file fixes. */
      fill({ metadata, info }) {
        form.applied = normalise(metadata);
        const m = form.applied;
        outputs = info.labels ?? m.labels?.length ?? 0;
        const isNumbered = (m.labels ?? []).every((l, i) => l === `class ${i}`);
        labels = isNumbered ? null : m.labels.slice();
        name.value = m.name ?? '';
        const nhwc = m.input.layout === 'NHWC';
        const [, a, b, c] = m.input.shape;
        const [H, W, C] = nhwc ? [a, b, c] : [b, c, a];
        channelCount = C;
        h.value = String(H);
        w.value = String(W);
        layout.value = nhwc ? 'NHWC' : 'NCHW';
        fileDims = info.file_input?.dims ?? [];
        const open = fileDims.length === 4 ? (nhwc ? [fileDims[1], fileDims[2]] : [fileDims[2], fileDims[3]]).map((d) => d == null) : [false, false];
        h.readOnly = !open[0] && fileDims.length === 4;
        w.readOnly = !open[1] && fileDims.length === 4;
        dimsNote.textContent = fileDims.length !== 4
          ? 'The file gives no input shape: say what the model expects.'
          : open[0] || open[1]
            ? 'The file leaves the input size open: say what the model was trained at (224 unless told).'
            : 'Fixed by the file.';
        resize.value = m.preprocess.resize === 'stretch' ? 'stretch' : 'crop';
        shorter.value = String(m.preprocess.resize_shorter ?? defaultShorter(H, W));
        const p = m.preprocess;
        const isScale = p.mean.every((v) => v === 0) && p.std.every((v) => v === p.std[0]) && p.std[0] !== 0;
        normScale.checked = isScale;
        normMeanStd.checked = !isScale;
        p.mean.forEach((v, i) => (mean[i].value = String(v)));
        p.std.forEach((v, i) => (std[i].value = String(v)));
        scale.value = isScale ? String(Number((1 / p.std[0]).toPrecision(6))) : '';
        channels.value = p.channels === 'BGR' ? 'BGR' : 'RGB';
        showLabels();
        sync();
      },
      /** The metadata the form describes (full: every field given); throws naming a bad field. */
      read() {
        const int = (input, what) => {
          const v = Number(input.value);
          if (!Number.isInteger(v) || v < 1 || v > 4096) throw new Error(`${what}: a whole number from 1 to 4096, please`);
          return v;
        };
        const real = (input, what) => {
          const v = Number(input.value);
          if (input.value.trim() === '' || !Number.isFinite(v)) throw new Error(`${what}: a number, please`);
          return v;
        };
        const H = int(h, 'Input height');
        const W = int(w, 'Input width');
        const nhwc = layout.value === 'NHWC';
        let meanV;
        let stdV;
        if (normScale.checked) {
          const s = real(scale, 'Scale');
          if (s === 0) throw new Error('Scale: not 0 (every input would be 0)');
          meanV = [0, 0, 0];
          stdV = [1 / s, 1 / s, 1 / s];
        } else {
          meanV = mean.map((m, i) => real(m, `Mean ${'RGB'[i]}`));
          stdV = std.map((s, i) => real(s, `Std ${'RGB'[i]}`));
          if (stdV.some((s) => s === 0)) throw new Error('Std: not 0 (it divides)');
        }
        const preprocess = { resize: resize.value, mean: meanV, std: stdV, channels: channels.value };
        if (resize.value === 'crop') {
          const s = int(shorter, 'Shorter side');
          if (s < Math.min(H, W)) throw new Error(`Shorter side: at least ${Math.min(H, W)} (the input’s shorter side), or the crop would not fit`);
          preprocess.resize_shorter = s;
        }
        if (labels && outputs && labels.length !== outputs) {
          throw new Error(`Labels: the file lists ${labels.length}, but the model outputs ${outputs} classes`);
        }
        return normalise({
          ...form.applied,
          name: name.value.trim() || 'ONNX model',
          input: { ...form.applied.input, shape: nhwc ? [1, H, W, channelCount] : [1, channelCount, H, W], layout: layout.value },
          preprocess,
          labels: labels ?? Array.from({ length: outputs }, (_, i) => `class ${i}`),
        });
      },
    };

    function showLabels() {
      labelsClear.hidden = !labels;
      const list = labels ?? Array.from({ length: Math.min(outputs, 3) }, (_, i) => `class ${i}`);
      const sample = `${list.slice(0, 3).join(', ')}${(labels?.length ?? outputs) > 3 ? ', …' : ''}`;
      labelsNote.textContent = labels
        ? `${labels.length} labels: ${sample}${labels.length !== outputs ? ` (the model outputs ${outputs}!)` : ''}`
        : `none given: numbered by the output’s size, ${outputs} classes (${sample})`;
    }

    /** Scale or mean/std fields, and the shorter side only for the crop. */
    function sync() {
      meanStdRow.hidden = normScale.checked;
      scaleRow.hidden = !normScale.checked;
      shorterField.hidden = resize.value !== 'crop';
    }
    for (const r of [normScale, normMeanStd]) r.addEventListener('change', sync);
    resize.addEventListener('change', sync);
    // The shorter side follows the input size while it is the default.
    for (const input of [h, w]) {
      let before = null;
      input.addEventListener('focus', () => (before = defaultShorter(Number(h.value), Number(w.value))));
      input.addEventListener('change', () => {
        if (Number(shorter.value) === before) shorter.value = String(defaultShorter(Number(h.value), Number(w.value)));
      });
    }
    labelsFile.addEventListener('change', async () => {
      const file = labelsFile.files?.[0];
      labelsFile.value = '';
      if (!file) return;
      try {
        labels = parseLabels(await file.text(), file.name);
        if (!labels.length) throw new Error(`${file.name} holds no labels`);
        form.status(labels.length === outputs
          ? `${file.name}: ${labels.length} labels. Use these settings to apply them.`
          : `${file.name} lists ${labels.length} labels but the model outputs ${outputs} classes.`, labels.length !== outputs);
      } catch (e) {
        labels = null;
        form.status(`Labels not read: ${e.message}`, true);
      }
      showLabels();
    });
    labelsClear.addEventListener('click', () => {
      labels = null;
      showLabels();
    });
    return form;
  }
}

const r7 = (x) => Number(Number(x).toPrecision(7));

/** The metadata in a stable form (key order, no older `crop` field) for comparisons and storage. */
function normalise(m) {
  const p = m.preprocess ?? {};
  const shape = m.input?.shape ?? [];
  const [H, W] = m.input?.layout === 'NHWC' ? [shape[1], shape[2]] : [shape[2], shape[3]];
  const crop = (p.resize ?? 'crop') === 'crop';
  const shorter = p.resize_shorter ?? (H && W ? defaultShorter(H, W) : null);
  const preprocess = {
    resize: p.resize ?? 'crop',
    ...(crop && shorter != null ? { resize_shorter: shorter } : {}),
    // The engine reads them as f32 (116.28 comes back as 116.27999877929688): 7 digits say it.
    mean: p.mean?.map(r7),
    std: p.std?.map(r7),
    channels: p.channels ?? 'RGB',
  };
  const out = { name: m.name, input: { name: m.input?.name, shape: m.input?.shape, layout: m.input?.layout ?? 'NCHW' }, preprocess, labels: m.labels };
  if (m.source) out.source = m.source;
  if (m.license) out.license = m.license;
  return out;
}
