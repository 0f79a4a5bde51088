// Side by side: the image on show through several variants of the model at once. Each column
// shows the variant's top-5, its latency and how far it is from fp32. Emits 'compared' on the
// app after each column so the sizes panel can plot latency against agreement.
import { compareClassifications } from 'quantscope';
import { el, formatBytes } from './dom.js';
import { DEFAULT_VARIANTS, OBSERVERS, QUICK_PICKS, isStatic, normalizeSpec, withDecodeFallback } from '../app.js';
import { calibrationControls } from './calibration.js';

const NAMED = {
  fp32: { title: 'Float (fp32)', note: '32-bit float weights and activations: the reference.' },
  fp16: { title: 'Half float (fp16)', note: '16-bit float weights, computed in fp32.' },
  'w8a8-dynamic': { title: 'int8 dynamic (w8a8-dynamic)', note: 'int8 weights; activations scaled per run, no calibration.' },
  w8a8: { title: 'int8 static, per channel (w8a8)', note: 'Integer-only; one weight scale per output channel.' },
  'w8a8-tensor': { title: 'int8 static, per tensor (w8a8-tensor)', note: 'Integer-only; one weight scale per layer.' },
};

/** A column's title and one-line note for a spec (a canonical one, or any text). */
export function describeVariant(spec) {
  if (NAMED[spec]) return NAMED[spec];
  const qat = /^(w\d+a\d+(?:-[a-z0-9+]+)*)-qat$/.exec(spec);
  if (qat) {
    return { title: `${qat[1]} after QAT (${spec})`, note: `${describeVariant(qat[1]).note} Weights fine-tuned by quantization-aware training (the QAT panel).` };
  }
  const m = /^w(\d+)a(\d+)((?:-[a-z0-9+]+)*)$/.exec(spec);
  if (!m) return { title: spec, note: 'Not a spec the engine knows.' };
  const [, wb, ab, rest] = m;
  const suffixes = new Set(rest.split('-').filter(Boolean));
  const levels = suffixes.has('kmeans') || suffixes.has('kmeans++')
    ? `${2 ** wb} k-means levels`
    : suffixes.has('pow2') ? 'powers of two' : 'a uniform grid';
  const scale = suffixes.has('tensor') ? 'one per layer' : 'per output channel';
  const acts = suffixes.has('dynamic')
    ? `${ab}-bit activations scaled per run`
    : `${ab}-bit activations from the calibrated ranges; integer-only`;
  return { title: spec, note: `${wb}-bit weights on ${levels} (${scale}); ${acts}.` };
}

// Ids the browser tests (and older links) know, per variant.
const IDS = {
  fp32: { list: 'predictions', latency: 'latency' },
  w8a8: { list: 'predictions-int8', latency: 'latency-int8', weights: 'weights-int8', agreement: 'agreement' },
};

const formatMs = (ms) => `${ms.toFixed(1)} ms`;

/**
 * The selected specs from the hash (the defaults when it names none; old names are aliases),
 * in column order: the quick picks first, then the others as listed.
 */
export function selectedVariants(state) {
  if (state.variants == null) return DEFAULT_VARIANTS.slice();
  const wanted = [...new Set(state.variants.split(',').map(normalizeSpec).filter((v) => v && v !== 'none'))];
  return [...QUICK_PICKS.filter((v) => wanted.includes(v)), ...wanted.filter((v) => !QUICK_PICKS.includes(v))];
}

/** The hash value for a selection: none when it is the default. */
function variantsValue(list) {
  if (list.length === DEFAULT_VARIANTS.length && DEFAULT_VARIANTS.every((v) => list.includes(v))) return '';
  return list.join(',') || 'none';
}

export function mount(section, app) {
  section.append(
    el('h2', { id: 'compare-heading', text: 'Side by side' }),
    el('p', {
      class: 'lead',
      text:
        'The same image through several versions of the same network. Quantized variants store weights in fewer ' +
        'bits; look at whether they keep fp32’s top-1 class and how much their probabilities move (KL, in nats: 0 ' +
        'means identical). Static variants need a calibration set to learn each activation’s range: it runs once, ' +
        'and every static column is built from the same ranges. Change the observer or add your own photos and ' +
        'watch the per-tensor column, which often drifts first. Add any scheme below: w4a8 has 16 weight levels, ' +
        'w4a8-kmeans puts its 16 where the weights are, w2a8-pow2 keeps only 0 and ± powers of two, w8a4 squeezes ' +
        'the activations instead of the weights.',
    }),
  );

  // ---- controls: variants (quick picks, any spec), observer, calibration set ----
  const picker = el('fieldset', { class: 'variant-picker' }, el('legend', { text: 'Variants' }));
  const boxes = new Map(); // spec -> checkbox, in column order
  const pickerBoxes = el('div', { class: 'variant-boxes' });
  function box(name) {
    if (boxes.has(name)) return boxes.get(name);
    const input = el('input', { type: 'checkbox', value: name, id: `variant-${name}` });
    input.addEventListener('change', () => {
      const on = [...boxes.keys()].filter((v) => boxes.get(v).checked);
      app.setState({ variants: variantsValue(on) });
    });
    boxes.set(name, input);
    pickerBoxes.append(el('label', { class: 'check', title: describeVariant(name).note }, input, ` ${name}`));
    return input;
  }
  for (const name of QUICK_PICKS) box(name);

  const specInput = el('input', {
    type: 'text', id: 'variant-spec', name: 'spec', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'any spec, e.g. w3a8-kmeans', 'aria-describedby': 'variant-spec-help',
  });
  const specHelp = el('p', {
    class: 'note', id: 'variant-spec-help',
    text: 'w<weight bits>a<activation bits>, then -kmeans, -pow2, -tensor, -dynamic, … (fp32 and fp16 too).',
  });
  const specError = el('p', { class: 'spec-error', id: 'variant-spec-error', role: 'alert', hidden: true });
  const addForm = el('form', { class: 'row variant-add', id: 'variant-add' },
    el('label', { for: 'variant-spec', text: 'Add a column:' }), specInput,
    el('button', { type: 'submit', id: 'variant-add-button', text: 'Add' }));
  addForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = specInput.value.trim();
    if (!text) return;
    specError.hidden = true;
    try {
      if (!app.qs) throw new Error('the engine is still starting; try again in a moment');
      const spec = await app.qs.parseVariant(text);
      const now = selectedVariants(app.state);
      if (!now.includes(spec)) app.setState({ variants: variantsValue([...now, spec]) });
      specInput.value = '';
    } catch (e) {
      specError.textContent = e.message;
      specError.hidden = false;
    }
  });
  picker.append(pickerBoxes, addForm, specHelp, specError);

  const observer = el('select', { id: 'observer' });
  for (const o of OBSERVERS) observer.append(el('option', { value: o, text: o }));
  observer.addEventListener('change', () => app.setState({ observer: observer.value === 'minmax' ? '' : observer.value }));
  const observerRow = el(
    'div',
    { class: 'row' },
    el('label', { for: 'observer', text: 'Observer of the static variants:' }),
    observer,
  );

  const columns = el('div', { class: 'columns', id: 'compare-columns' });
  const calib = calibrationControls(app);
  section.append(picker, observerRow, calib.element, columns);

  // ---- columns ----
  const cols = new Map(); // name -> { el, list, latency, weights, agreement, note }
  function column(name) {
    if (cols.has(name)) return cols.get(name);
    const ids = IDS[name] ?? {};
    const info = describeVariant(name);
    const c = {
      list: el('ol', { class: 'predictions', id: ids.list ?? `predictions-${name}` }),
      latency: el('strong', { class: 'latency', id: ids.latency ?? `latency-${name}`, text: '–' }),
      weights: el('span', { class: 'weights', id: ids.weights ?? `weights-${name}` }),
      agreement: el('p', { class: 'agreement', id: ids.agreement ?? `agreement-${name}` }),
      status: el('p', { class: 'column-status' }),
      floatNodes: el('div', { class: 'float-nodes note', id: `float-nodes-${name}` }),
      exportStatus: el('p', { class: 'export-status', role: 'status' }),
    };
    const heading = el('h3', { id: `column-${name}-title`, text: info.title });
    c.el = el(
      'article',
      { class: 'column' },
      heading,
      el('p', { class: 'variant-note', text: info.note }),
      c.status,
      c.list,
      el('p', { class: 'timing' }, 'Inference: ', c.latency, ' ', c.weights),
      c.agreement,
      c.floatNodes,
    );
    // Every column has the row (empty for float and dynamic ones) so the rows line up.
    c.el.append(el('div', { class: 'column-export' }, ...(isStatic(name) ? [exportButton(name, c), c.exportStatus] : [])));
    c.el.dataset.variant = name;
    c.el.setAttribute('aria-labelledby', heading.id);
    cols.set(name, c);
    return c;
  }

  function layoutColumns() {
    const names = selectedVariants(app.state);
    for (const [name, c] of cols) {
      if (!names.includes(name)) {
        c.el.remove();
        cols.delete(name);
      }
    }
    columns.replaceChildren(...names.map((n) => column(n).el));
    columns.dataset.count = String(names.length);
    if (names.length === 0) columns.append(el('p', { class: 'note', text: 'Tick at least one variant.' }));
  }

  /** "Download ONNX": the column's model as an ONNX QDQ file (model.exportOnnx()). */
  function exportButton(name, c) {
    const button = el('button', { type: 'button', class: 'export-onnx', text: 'Download ONNX (QDQ)' });
    button.title = 'The quantized model as an ONNX file with QuantizeLinear/DequantizeLinear pairs, for onnxruntime';
    button.addEventListener('click', async () => {
      button.disabled = true;
      c.exportStatus.classList.remove('error');
      c.exportStatus.textContent = 'Exporting…';
      try {
        const model = await app.variant(name);
        const bytes = await model.exportOnnx();
        const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
        const file = `${slug(app.modelInfo?.name)}-${name}.onnx`;
        const a = el('a', { href: url, download: file });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
        c.exportStatus.textContent = `Saved ${file} (${formatBytes(bytes.byteLength)}).`;
      } catch (e) {
        c.exportStatus.textContent = `Export failed: ${e.message}`;
        c.exportStatus.classList.add('error');
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }


  // ---- classification ----
  let results = new WeakMap(); // QsModel -> classify() result, for the image on show
  let run = 0;

  function render(c, result) {
    const items = result.top5.map(({ label, prob, index }) => {
      const bar = el('span', { class: 'bar' }, el('span'));
      bar.setAttribute('aria-hidden', 'true');
      bar.firstChild.style.width = `${Math.max(0, Math.min(1, prob)) * 100}%`;
      const li = el(
        'li',
        {},
        el('span', { class: 'label', text: label }),
        el('span', { class: 'prob', text: `${(prob * 100).toFixed(1)}%` }),
        bar,
      );
      li.dataset.index = String(index);
      return li;
    });
    c.list.replaceChildren(...items);
    c.latency.textContent = formatMs(result.ms);
  }

  function clear(c, message = '') {
    c.list.replaceChildren();
    c.weights.textContent = '';
    c.floatNodes.replaceChildren(); // empty, not hidden: the column's grid rows stay in place
    delete c.floatNodes.dataset.count;
    c.latency.textContent = '–';
    c.agreement.textContent = '';
    c.status.textContent = message;
    c.status.classList.toggle('error', Boolean(message));
  }

  function showAgreement(c, name, a) {
    delete c.agreement.dataset.sameTop1;
    if (name === 'fp32') {
      c.agreement.textContent = 'The reference the others are compared with.';
      return;
    }
    c.agreement.dataset.sameTop1 = String(a.sameTop1);
    const piece = (text) => el('span', { class: 'nowrap', text: text });
    c.agreement.replaceChildren(
      el('strong', { text: a.sameTop1 ? 'Same top-1' : 'Different top-1' }),
      ' as fp32 · ',
      piece(`${a.top5Overlap} of 5 shared`),
      ' · ',
      piece(`KL ${formatKl(a.kl)}`),
    );
  }

  const warm = new WeakSet(); // models that ran once: a first run pays for caches and allocations
  async function classifyWith(model) {
    if (!results.has(model)) {
      const image = app.image;
      const run = () => withDecodeFallback((img) => model.classify(img), image.blob);
      if (!warm.has(model)) {
        await run();
        warm.add(model);
      }
      const result = await run();
      if (app.image === image) results.set(model, result);
      return result;
    }
    return results.get(model);
  }

  /** Fills every column for the image on show; later calls supersede earlier ones. */
  async function classifyAll() {
    const mine = ++run;
    const image = app.image;
    const names = selectedVariants(app.state);
    if (!image) return;
    for (const n of names) cols.get(n)?.list.setAttribute('aria-busy', 'true');
    if (!app.model) return; // the 'model' event starts it again
    const stale = () => mine !== run;
    app.setStatus('classifying');
    const rows = [];
    let reference;
    try {
      // fp32 is the reference of every agreement, shown or not.
      reference = await classifyWith(app.model);
    } catch (e) {
      if (stale()) return;
      for (const n of names) {
        clear(cols.get(n));
        cols.get(n).list.removeAttribute('aria-busy');
      }
      app.error(`Could not classify “${image.name}”: ${e.message}`);
      app.setStatus('error');
      app.emit('compared', { image, rows: [] });
      return;
    }
    if (stale()) return;
    app.error(null);
    for (const name of names) {
      const c = cols.get(name);
      try {
        if (isStatic(name)) c.status.textContent = 'Calibrating…';
        const model = await app.variant(name);
        if (stale()) return;
        c.status.textContent = '';
        c.status.classList.remove('error');
        const result = await classifyWith(model);
        if (stale()) return;
        render(c, result);
        if (name === 'fp32') c.weights.textContent = `(+ ${formatMs(result.preprocess_ms)} to decode and resize)`;
        else weightsNote(model, c, stale);
        const a = compareClassifications(reference, result);
        showAgreement(c, name, a);
        rows.push({ name, title: describeVariant(name).title, ms: result.ms, ...a });
        app.emit('compared', { image, rows: rows.slice() });
      } catch (e) {
        if (stale()) return;
        clear(c, isStatic(name) ? `Calibration failed: ${e.message}` : `Failed: ${e.message}`);
      } finally {
        if (!stale()) c.list.removeAttribute('aria-busy');
      }
    }
    app.setStatus('ready');
  }

  /** The variant's weight bytes against fp32's, and the nodes it runs in float. */
  async function weightsNote(model, c, stale) {
    try {
      const [info, ref] = await Promise.all([model.info(), app.model.info()]);
      if (stale()) return;
      c.weights.textContent = `(weights ${formatBytes(info.weight_bytes)} of ${formatBytes(ref.weight_bytes)})`;
      showFloatNodes(c, info.float_nodes ?? []);
    } catch {
      if (!stale()) c.weights.textContent = '';
    }
  }

  /**
   * "2 nodes run in float: Softmax (…)": the nodes an integer variant leaves in float (no int8
   * form), which the column's numbers include.
   */
  function showFloatNodes(c, nodes) {
    c.floatNodes.dataset.count = String(nodes.length);
    if (!nodes.length) {
      c.floatNodes.replaceChildren();
      return;
    }
    const list = el('ul', { class: 'float-node-list' }, ...nodes.map((n) => el('li', {},
      el('strong', { text: n.op }), ` ${n.name}`, el('span', { class: 'reason', text: `: ${n.reason}` }))));
    const ops = [...new Set(nodes.map((n) => n.op))].join(', ');
    c.floatNodes.replaceChildren(el('details', {},
      el('summary', { text: `${nodes.length} node${nodes.length === 1 ? '' : 's'} run${nodes.length === 1 ? 's' : ''} in float: ${ops}` }),
      list));
  }

  // ---- wiring ----
  function applyState(state) {
    const names = selectedVariants(state);
    for (const name of names) box(name); // a linked or typed spec gets its checkbox
    for (const [name, input] of boxes) input.checked = names.includes(name);
    observer.value = OBSERVERS.includes(state.observer) ? state.observer : 'minmax';
  }

  let shown = JSON.stringify([selectedVariants(app.state), app.observer]);
  app.on('state', (state) => {
    applyState(state);
    const now = JSON.stringify([selectedVariants(state), app.observer]);
    if (now === shown) return;
    shown = now;
    layoutColumns();
    classifyAll();
  });
  app.on('image', () => {
    results = new WeakMap();
    for (const c of cols.values()) clear(c);
    classifyAll();
  });
  app.on('model', () => {
    // A new model: nothing on screen belongs to it (results are keyed by QsModel already).
    for (const c of cols.values()) clear(c);
    classifyAll();
  });
  app.on('calibration-set', () => {
    if (app.model) classifyAll();
  });
  // A variant another panel made (the QAT panel's w4a4-qat) gets its checkbox; a shown column
  // of that name runs the new model.
  app.on('custom-variant', ({ name }) => {
    box(name);
    applyState(app.state);
    const c = cols.get(name);
    if (c) {
      clear(c);
      classifyAll();
    }
  });
  applyState(app.state);
  layoutColumns();
}

/** A file-name-safe form of a model's name: "EfficientNet-Lite0" -> "efficientnet-lite0". */
function slug(name) {
  return String(name || 'model').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
}

function formatKl(kl) {
  if (!Number.isFinite(kl)) return 'n/a';
  if (kl === 0) return '0';
  return kl < 0.001 ? kl.toExponential(1) : kl.toFixed(3);
}
