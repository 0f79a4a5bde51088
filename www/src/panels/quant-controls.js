// The layer picker, bit-width slider, levels (uniform / k-means / powers of two) and
// granularity choice shared (through app state: keys `layer`, `bits`, `levels`, `gran`) by the
// weights and bins panels. Each panel has its own copy of the
// controls; changing one writes the hash state, and both panels follow the 'state' event.
import { el } from './dom.js';

const layerLists = new WeakMap(); // model -> Promise of model.layers(), asked once per model

export function layersOf(model) {
  if (!layerLists.has(model)) layerLists.set(model, model.layers());
  return layerLists.get(model);
}

export const MAX_BITS = 8;
export const LEVELS = { uniform: 'uniform', kmeans: 'k-means', pow2: 'powers of two' };
/**
 * Uniform grids need 2 bits (a symmetric 1-bit grid holds only 0); k-means runs at 1. Powers of
 * two start at 2 here: at 1 bit the engine's pow2 codebook has 3 levels for 2 codes.
 */
export const minBits = (levels) => (levels === 'kmeans' ? 1 : 2);

/** The layer/bits/levels/gran of a state object (strings in the hash), with defaults. */
export function readQuantState(state) {
  const levels = state.levels in LEVELS ? state.levels : 'uniform';
  const bits = Math.round(Number(state.bits));
  return {
    layer: state.layer || null,
    bits: Number.isFinite(bits) ? Math.min(MAX_BITS, Math.max(minBits(levels), bits)) : MAX_BITS,
    levels,
    gran: state.gran === 'tensor' ? 'tensor' : 'channel',
  };
}

/** The weight spec of the controls' values: `w4a8-kmeans-tensor` (the engine's defaults otherwise). */
export function specOf(v) {
  return `w${v.bits}a8${v.levels === 'uniform' ? '' : `-${v.levels}`}${v.gran === 'tensor' ? '-tensor' : ''}`;
}

function layerLabel(l) {
  const kind = l.depthwise ? 'depthwise' : l.op;
  return `${l.name} · ${kind} ${l.weight_shape.join('×')} · ${l.parameters.toLocaleString('en')} params`;
}

/**
 * Builds the controls with ids `${prefix}-layer`, `${prefix}-bits`, radios `${prefix}-gran`.
 * `onChange(values)` runs when the layer, bits or granularity in force changes.
 */
export function quantControls(prefix, app, onChange) {
  const select = el('select', { id: `${prefix}-layer`, disabled: true });
  select.append(el('option', { value: '', text: 'loading the model…' }));
  const bits = el('input', {
    type: 'range', id: `${prefix}-bits`, min: 2, max: MAX_BITS, step: 1, value: MAX_BITS,
  });
  const bitsOut = el('output', { for: `${prefix}-bits`, id: `${prefix}-bits-out`, text: '8' });
  const radio = (value, text) => {
    const input = el('input', { type: 'radio', name: `${prefix}-gran`, value, id: `${prefix}-gran-${value}` });
    return [input, el('label', { for: input.id, text })];
  };
  const [perChannel, perChannelLabel] = radio('channel', 'per channel');
  const [perTensor, perTensorLabel] = radio('tensor', 'per tensor');
  const levelRadios = new Map();
  const levelsField = el('fieldset', { class: 'qsp-field qsp-levels' }, el('legend', { text: 'Levels' }));
  for (const [value, text] of Object.entries(LEVELS)) {
    const input = el('input', { type: 'radio', name: `${prefix}-levels`, value, id: `${prefix}-levels-${value}` });
    levelRadios.set(value, input);
    levelsField.append(el('span', {}, input, el('label', { for: input.id, text })));
  }
  const node = el('div', { class: 'qsp-controls' },
    el('div', { class: 'qsp-field qsp-layer' },
      el('label', { for: select.id, text: 'Layer' }), select),
    el('div', { class: 'qsp-field' },
      el('label', { for: bits.id, text: 'Bits' }), bits, bitsOut),
    levelsField,
    el('fieldset', { class: 'qsp-field qsp-gran' },
      el('legend', { text: 'Scale' }),
      el('span', {}, perChannel, perChannelLabel), el('span', {}, perTensor, perTensorLabel)));

  // Why the view differs from a link (an unknown layer); stays until the visitor picks one.
  const notice = el('p', { class: 'qsp-notice', id: `${prefix}-notice`, role: 'status', hidden: true });

  let layers = [];
  let current = null; // { layer, bits, gran } in force

  function values() {
    const s = readQuantState(app.state);
    let layer = s.layer;
    if (layers.length && !layers.some((l) => l.name === layer)) layer = layers[0].name;
    return { ...s, layer };
  }

  /** Puts the state into the controls; calls onChange when the values in force changed. */
  function sync() {
    const v = values();
    if (layers.length) select.value = v.layer;
    bits.min = String(minBits(v.levels));
    bits.value = String(v.bits);
    for (const [value, input] of levelRadios) input.checked = v.levels === value;
    bitsOut.value = String(v.bits);
    perChannel.checked = v.gran === 'channel';
    perTensor.checked = v.gran === 'tensor';
    if (!layers.length) return;
    if (layers.some((l) => l.name === app.state.layer)) notice.hidden = true; // a valid pick now
    const key = JSON.stringify(v);
    if (current && JSON.stringify(current) === key) return;
    current = v;
    onChange(v);
  }

  // setState emits 'state' (which calls sync); calling sync again is harmless and keeps the
  // panel responsive should the emit be deferred.
  const set = (patch) => {
    app.setState(patch);
    sync();
  };
  select.addEventListener('change', () => {
    notice.hidden = true;
    set({ layer: select.value });
  });
  bits.addEventListener('input', () => {
    bitsOut.value = bits.value;
    set({ bits: bits.value });
  });
  for (const r of [perChannel, perTensor]) {
    r.addEventListener('change', () => r.checked && set({ gran: r.value }));
  }
  for (const r of levelRadios.values()) {
    r.addEventListener('change', () => {
      if (!r.checked) return;
      // 1 bit exists only for codebooks: back on a uniform grid it becomes 2.
      const b = Math.max(minBits(r.value), Number(bits.value));
      set({ levels: r.value === 'uniform' ? '' : r.value, bits: b });
    });
  }
  app.on('state', sync);

  /** Fills the picker from the model; rejects (for the panel to report) if layers() fails. */
  let loading = 0;
  async function load(model) {
    const mine = ++loading;
    layers = [];
    current = null; // a new model: the same values must still be drawn again
    notice.hidden = true;
    select.disabled = true;
    select.replaceChildren(el('option', { value: '', text: 'loading the model…' }));
    const list = await layersOf(model);
    if (mine !== loading) return list; // a newer model is loading: it fills the picker
    layers = list;
    if (!layers.length) {
      select.replaceChildren(el('option', { value: '', text: 'no Conv or Gemm layer' }));
      return layers;
    }
    select.replaceChildren(...layers.map((l) => el('option', { value: l.name, text: layerLabel(l) })));
    select.disabled = false;
    const asked = readQuantState(app.state).layer;
    if (asked && layers.length && !layers.some((l) => l.name === asked)) {
      notice.textContent = `The link names a layer this model does not have (“${asked}”); showing ${layers[0].name}.`;
      notice.hidden = false;
    }
    sync();
    return layers;
  }

  sync();
  return { node, notice, load, set, values: () => current, layers: () => layers, sync };
}
