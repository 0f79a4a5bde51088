// The object every panel receives (see shared-notes/CONTRACT.md): the engine, the fp32 model and
// its variants (built once per model, cached), the image on show, events, and the view state
// kept in the URL hash so that a teacher can link a view. The model can change (the visitor's own
// .onnx): panels follow with app.onModel(), and the old model's variants are disposed.

/** The hash keys, in the order they are written. */
export const STATE_KEYS = ['panel', 'model', 'sample', 'variants', 'observer', 'layer', 'bits', 'levels', 'gran', 'value', 'bitsimg', 'accvariants', 'accshow', 'qat', 'qatsteps'];
/** Hash keys that name something inside one model: dropped when the model changes. */
const MODEL_KEYS = ['layer', 'value'];
/**
 * Variants are named by specs (see the engine's grammar: fp32, fp16, w<b>a<b>[-suffixes]).
 * The columns shown when the hash names none, in column order.
 */
export const DEFAULT_VARIANTS = ['fp32', 'fp16', 'w8a8-dynamic', 'w8a8', 'w8a8-tensor'];
/** One-click specs of the compare panel (the defaults first), in column order. */
export const QUICK_PICKS = [...DEFAULT_VARIANTS, 'w8a4', 'w4a8', 'w4a8-kmeans', 'w2a8-pow2'];
/** The older names, still accepted in links. */
export const ALIASES = {
  int8: 'w8a8',
  'int8-static': 'w8a8',
  'int8-static-tensor': 'w8a8-tensor',
  'int8-dynamic': 'w8a8-dynamic',
};
/** The static variant that is calibrated; every other static spec reuses its ranges. */
export const CALIBRATED = 'w8a8';
export const OBSERVERS = ['minmax', 'percentile', 'entropy', 'mse'];
export const DEFAULT_OBSERVER = 'minmax';

/** A spec as typed or linked, lower case, old names replaced by their spec. */
export function normalizeSpec(spec) {
  const s = String(spec ?? '').trim().toLowerCase();
  return ALIASES[s] ?? s;
}

/** True for calibrated (integer-only) variants: not fp32, fp16 or -dynamic. */
export function isStatic(spec) {
  const s = normalizeSpec(spec);
  return s !== 'fp32' && s !== 'fp16' && !s.endsWith('-dynamic');
}
/** Older variants are disposed beyond this many cached builds (recalibrations, observers). */
const MAX_CACHED = 12;

export function parseHash(hash) {
  const params = new URLSearchParams(String(hash).replace(/^#/, ''));
  const state = {};
  for (const key of STATE_KEYS) {
    const v = params.get(key);
    if (v != null && v !== '') state[key] = v;
  }
  return state;
}

export function formatHash(state) {
  // Commas stay readable (variants=fp32,int8-static): they are legal in a fragment.
  const enc = (s) => encodeURIComponent(s).replace(/%2C/gi, ',');
  return STATE_KEYS.filter((k) => state[k] != null && state[k] !== '')
    .map((k) => `${k}=${enc(state[k])}`)
    .join('&');
}

/**
 * Classifies with a model, letting the browser decode formats the engine cannot (e.g. AVIF)
 * when the engine rejects the bytes. `run(image)` is e.g. `(img) => model.classify(img)`.
 */
export async function withDecodeFallback(run, blob) {
  try {
    return await run(blob);
  } catch (engineError) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(blob);
    } catch {
      throw engineError;
    }
    return run(bitmap);
  }
}

export function createApp() {
  const listeners = new Map();
  const cache = new Map(); // variant key -> Promise<QsModel>, in build order (current model only)
  let generation = 0; // bumped per model: a key of an older model is never reused
  let state = parseHash(location.hash);
  let resolveModel;
  let calibration = []; // [{ name, blob, sample }]
  let calibrationVersion = 0;
  const custom = new Map(); // name -> QsModel: variants a panel made (QAT's 'w4a4-qat'), current model only

  const emit = (event, detail) => {
    for (const cb of listeners.get(event) ?? []) {
      try {
        cb(detail);
      } catch (e) {
        console.error(`quantscope page: a '${event}' listener failed`, e);
      }
    }
  };

  const app = {
    /** The Quantscope engine, null before it starts. */
    qs: null,
    /** The fp32 QsModel on show, null until loaded. */
    model: null,
    /** Its info() (name, labels, input, metadata, ...), null until loaded. */
    modelInfo: null,
    /** Promise of the first fp32 QsModel (later ones come with 'model' events: see onModel). */
    whenModel: new Promise((resolve) => {
      resolveModel = resolve;
    }),
    /** The image on show: { blob, name, url } or null. */
    image: null,

    get state() {
      return { ...state };
    },

    /** Merges `patch` into the state (empty/null values delete a key), writes the hash, emits 'state'. */
    setState(patch) {
      const next = { ...state };
      for (const [k, v] of Object.entries(patch)) {
        if (!STATE_KEYS.includes(k)) continue;
        if (v == null || v === '') delete next[k];
        else next[k] = String(v);
      }
      if (formatHash(next) === formatHash(state)) return;
      state = next;
      const hash = formatHash(state);
      history.replaceState(history.state, '', hash ? `#${hash}` : location.pathname + location.search);
      emit('state', app.state);
    },

    /** Emits an event to the listeners (panels may talk to each other this way). */
    emit(event, detail) {
      emit(event, detail);
    },

    /**
     * Calls `cb(model, info)` with the model on show (at once if there is one) and again each
     * time it changes. Returns the unsubscribe function.
     */
    onModel(cb) {
      if (app.model) cb(app.model, app.modelInfo);
      return app.on('model', (m) => cb(m, app.modelInfo));
    },

    on(event, cb) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(cb);
      return () => listeners.get(event).delete(cb);
    },

    /** The observer of the static variants (hash key `observer`). */
    get observer() {
      return OBSERVERS.includes(state.observer) ? state.observer : DEFAULT_OBSERVER;
    },

    /** The calibration images of the static variants: [{ name, blob, sample }]. */
    get calibration() {
      return calibration.slice();
    },

    /** Replaces the calibration set; static variants are rebuilt on their next use. */
    setCalibration(images) {
      calibration = images.slice();
      calibrationVersion++;
      emit('calibration-set', app.calibration);
    },

    /**
     * Promise<QsModel> of a variant spec, built once and cached. Static ones use the observer
     * and calibration set current at the call: the calibration runs once (for w8a8) and every
     * other static spec is built from its saved ranges. Emits 'variant' when built and
     * 'calibration' ({ name, done, total }) while calibrating.
     */
    variant(spec) {
      const name = normalizeSpec(spec);
      if (!name) return Promise.reject(new Error('no variant named'));
      if (custom.has(name)) return Promise.resolve(custom.get(name));
      if (/-qat$/.test(name)) return Promise.reject(new Error(`${name} is made by the QAT panel: run QAT for it there first`));
      if (!app.model) return app.whenModel.then(() => app.variant(name));
      return cached(name, app.model, app.observer, calibrationVersion, calibration.slice());
    },

    /**
     * Offers `model`, a variant of the model on show that a panel made (e.g. the QAT panel's
     * `'w4a4-qat'`), to every panel under `name`: app.variant(name) returns it, and
     * 'custom-variant' ({ name, model }) is emitted. Disposed when the model changes.
     */
    addVariant(name, model) {
      const previous = custom.get(name);
      custom.set(name, model);
      if (previous && previous !== model) previous.dispose();
      emit('custom-variant', { name, model });
    },

    /** The names of the variants panels made for the model on show (see addVariant). */
    get customVariants() {
      return [...custom.keys()];
    },

    /** Shows a message in the page's alert box (null hides it). */
    error(message) {
      const box = document.getElementById('error');
      box.textContent = message ?? '';
      box.hidden = !message;
    },

    /** body[data-state]: 'loading' | 'ready' | 'classifying' | 'error'. */
    setStatus(status) {
      document.body.dataset.state = status;
    },

    /** Shows `label` in the status line while `promise` runs; returns the promise. */
    busy(label, promise) {
      const line = document.getElementById('busy');
      if (line) {
        const item = document.createElement('span');
        item.textContent = label;
        line.append(item);
        const done = () => item.remove();
        promise.then(done, done);
      }
      return promise;
    },

    // ---- for main.js only ----
    _setEngine(qs) {
      app.qs = qs;
    },
    /**
     * Puts `model` (fp32, with its info()) on show: the previous model's variants are disposed
     * (not the previous model itself: its owner decides), the hash keys naming its layers are
     * dropped, and 'model' is emitted.
     */
    _setModel(model, info) {
      if (model === app.model) return;
      const previous = app.model;
      generation++;
      for (const built of cache.values()) built.then((m) => m !== previous && m.dispose(), () => {});
      cache.clear();
      for (const m of custom.values()) m.dispose();
      custom.clear();
      app.model = model;
      app.modelInfo = info ?? null;
      resolveModel(model);
      emit('model', model);
      if (previous) app.setState(Object.fromEntries(MODEL_KEYS.map((k) => [k, null])));
    },
    _setImage(image) {
      if (app.image?.url && app.image.url !== image?.url) URL.revokeObjectURL(app.image.url);
      app.image = image;
      emit('image', image);
    },
    _readHash() {
      const next = parseHash(location.hash);
      if (formatHash(next) === formatHash(state)) return;
      state = next;
      emit('state', app.state);
    },
  };

  function cached(name, fp32, observer, version, images) {
    const calibrated = isStatic(name);
    const key = `${generation}:${calibrated ? `${name}|${observer}|${version}` : name}`;
    let built = cache.get(key);
    if (!built) {
      built = build(name, fp32, observer, version, images);
      cache.set(key, built);
      built.then(
        (model) => {
          // A build of a model no longer on show was disposed with the rest of its cache.
          if (cache.get(key) === built) emit('variant', { name, model, observer: calibrated ? observer : null });
        },
        () => cache.get(key) === built && cache.delete(key), // not cached: the next call tries again
      );
      evict();
    }
    return built;
  }

  async function build(name, fp32, observer, version, images) {
    if (name === 'fp32') return fp32;
    if (!isStatic(name)) return fp32.quantize({ variant: name });
    if (name !== CALIBRATED) {
      // Activation ranges are those of the float model: they do not depend on how the weights
      // are quantized, so every static spec reuses the one calibration.
      const base = await cached(CALIBRATED, fp32, observer, version, images);
      return fp32.withRanges(await base.ranges(), { variant: name });
    }
    if (images.length === 0) throw new Error('the calibration set is empty');
    const total = images.length;
    // Progress of a model no longer on show would mislead the bar: only the current one reports.
    const mine = generation;
    const report = (detail) => mine === generation && emit('calibration', detail);
    report({ name, done: 0, total });
    try {
      return await fp32.quantize({
        variant: CALIBRATED,
        observer,
        calibration: images.map((i) => i.blob),
        onProgress: (done, n) => report({ name, done, total: n || total }),
      });
    } catch (e) {
      report({ name, done: 0, total, error: e });
      throw e;
    }
  }

  // Keeps memory bounded when a visitor tries many observers or calibration sets.
  // Only stale static builds (another observer or calibration set) are disposed.
  function evict() {
    const current = (key) => key.endsWith(`|${app.observer}|${calibrationVersion}`);
    for (const [key, built] of cache) {
      if (cache.size <= MAX_CACHED) break;
      if (!key.includes('|') || current(key)) continue; // fp32, fp16, dynamic: no ranges
      cache.delete(key);
      built.then((m) => m.dispose(), () => {});
    }
  }

  addEventListener('hashchange', () => app._readHash());
  return app;
}

export const app = createApp();
