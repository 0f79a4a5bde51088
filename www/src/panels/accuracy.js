// Panel "accuracy": the Fashion-MNIST CNN and its quantized variants on the 10,000 labelled test
// images, run in the worker in chunks (progress bar, cancel): accuracy per variant, the confusion
// matrix of one variant, and the test images whose answer changed between fp32 and it. Static
// variants calibrate on 500 training images (the page's training subset), once; the others are
// built from those ranges. Hash keys: `accvariants` (the variants run), `accshow` (the one
// drawn). The URL's `?acclimit=N` runs the first N images only (quick checks, the page tests).
import { el } from './dom.js';
import { chartWidth, observeWidth } from './charts.js';
import { latest, markRendered, showError } from './quant-common.js';
import { accuracyBars, confusionMap } from './accuracy-charts.js';
import { dataset, inputOf } from '../fmnist.js';
import './accuracy.css';

/** The variants offered, in display order; fp32 is the reference and always runs. */
export const ACC_VARIANTS = ['fp32', 'fp16', 'w8a8', 'w4a8', 'w4a4', 'w2a8', 'w2a4'];
const DEFAULT_RUN = ['fp32', 'w8a8', 'w4a8', 'w4a4'];
/** Training images the static variants calibrate on. */
const CALIBRATION_IMAGES = 500;
/** Images per worker chunk: progress and cancel happen between chunks. */
const CHUNK = 250;
/** Changed images drawn at most (the count is given in full). */
const MAX_SHOWN = 60;

const abortError = () => Object.assign(new Error('cancelled'), { name: 'AbortError' });
const isStatic = (spec) => spec !== 'fp32' && spec !== 'fp16' && !spec.endsWith('-dynamic');
const pct = (x) => `${(x * 100).toFixed(1)}%`;
const count = (n) => n.toLocaleString('en-US');

/** The images run: all, or the first `acclimit` of the URL's query (a test hook). */
function imageLimit() {
  const n = Number(new URLSearchParams(location.search).get('acclimit'));
  return Number.isInteger(n) && n > 0 ? n : null;
}

/**
 * The variants the hash asks for (fp32 first, always), else the default; `offered`: the specs
 * offered (ACC_VARIANTS and the variants other panels made, such as QAT's `w4a4-qat`).
 */
function selectedSpecs(state, offered = ACC_VARIANTS) {
  const listed = state.accvariants?.split(',').map((s) => s.trim().toLowerCase()).filter((s) => offered.includes(s));
  const wanted = new Set(listed?.length ? listed : DEFAULT_RUN);
  return offered.filter((v) => v === 'fp32' || wanted.has(v));
}

export function mount(section, app) {
  section.classList.add('qsp', 'acc');
  const heading = el('h2', { id: 'accuracy-heading', tabindex: '-1', text: 'Accuracy on 10,000 test images' });
  section.setAttribute('aria-labelledby', heading.id);
  const lede = el('div', { class: 'lead' },
    el('p', { text: 'Agreement on a few photos hints; labelled data measures. Run the Fashion-MNIST CNN and its quantized variants on the 10,000 test images it never saw in training, and compare their accuracy: 8 bits cost almost nothing, 4 bits a little, 2 bits a lot.' }),
    el('p', { text: 'Then pick a variant: its confusion matrix shows which classes it mixes up (shirts, T-shirts, pullovers and coats, mostly), and the grid shows every test image whose answer changed from fp32’s: some were fixed, more were broken.' }));
  const notice = el('p', { class: 'qsp-notice', id: 'acc-notice', hidden: true });
  const boxes = new Map();
  const offered = ACC_VARIANTS.slice(); // and the variants other panels make (app.addVariant)
  const boxLabel = (spec) => {
    const input = el('input', { type: 'checkbox', id: `acc-variant-${spec}`, value: spec });
    if (spec === 'fp32') input.disabled = true;
    boxes.set(spec, input);
    return el('label', { class: 'check' }, input, ` ${spec}`, spec === 'fp32' ? el('span', { class: 'qsp-muted', text: ' (the reference)' }) : '');
  };
  const picker = el('fieldset', { class: 'acc-variants' }, el('legend', { text: 'Variants' }), ...ACC_VARIANTS.map(boxLabel));
  const runButton = el('button', { type: 'button', id: 'acc-run', text: 'Run on the test set' });
  const cancelButton = el('button', { type: 'button', id: 'acc-cancel', text: 'Cancel', disabled: true });
  const progress = el('progress', { id: 'acc-progress', max: 1, value: 0, hidden: true, 'aria-label': 'Accuracy run' });
  const status = el('p', { class: 'qsp-stats', id: 'acc-status', 'aria-live': 'polite' });
  const errorBox = el('p', { class: 'qsp-error', id: 'acc-error', role: 'alert', hidden: true });
  const bars = el('figure', { class: 'qsp-figure', id: 'acc-bars' });
  const show = el('select', { id: 'acc-show' });
  const showRow = el('div', { class: 'qsp-controls acc-show', hidden: true },
    el('label', { for: 'acc-show', text: 'Variant drawn below: ' }), show);
  const confusion = el('figure', { class: 'qsp-figure', id: 'acc-confusion' });
  const changedNote = el('p', { class: 'qsp-stats', id: 'acc-changed-note' });
  const changed = el('ul', { class: 'acc-changed', id: 'acc-changed' });
  const controls = el('div', { class: 'qsp-controls' }, picker, el('div', { class: 'acc-actions' }, runButton, cancelButton, progress));
  section.replaceChildren(heading, lede, notice, controls, status, errorBox, bars, showRow, confusion, changedNote, changed);
  section.dataset.qsStatus = 'loading';

  const limit = imageLimit();
  let model = null; // the fp32 model on show, when it reads 28x28 grey pictures
  let info = null;
  let builds = new Map(); // spec -> Promise<QsModel>, this panel's variants of `model`
  let results = new Map(); // spec -> accuracy result (with `changed`)
  let names = [];
  let controller = null; // the running run's AbortController

  const syncBoxes = () => {
    const chosen = selectedSpecs(app.state, offered);
    for (const [spec, box] of boxes) box.checked = chosen.includes(spec);
  };
  syncBoxes();
  const listen = (spec, box) => {
    box.addEventListener('change', () => {
      const list = offered.filter((v) => v !== 'fp32' && boxes.get(v).checked);
      const value = list.join(',');
      app.setState({ accvariants: value === DEFAULT_RUN.slice(1).join(',') ? null : value || 'fp32' });
      if (spec !== 'fp32') runButton.textContent = 'Run on the test set';
    });
  };
  for (const [spec, box] of boxes) listen(spec, box);
  // A variant another panel made (QAT's w4a4-qat) becomes a box; a new one replaces its result.
  app.on('custom-variant', ({ name }) => {
    builds.delete(name);
    results.delete(name);
    if (!offered.includes(name)) {
      offered.push(name);
      picker.append(boxLabel(name));
      listen(name, boxes.get(name));
      boxes.get(name).disabled = section.dataset.accRunning === 'true';
    }
    syncBoxes();
    if (results.size) render();
  });

  /** A variant of the fp32 model, built once: static ones calibrate on training images. */
  function build(spec, fp32) {
    if (builds.has(spec)) return builds.get(spec);
    let built;
    if (spec === 'fp32') built = Promise.resolve(fp32);
    else if (app.customVariants.includes(spec)) built = app.variant(spec);
    else if (!isStatic(spec)) built = fp32.quantize({ variant: spec });
    else if (spec === 'w8a8') {
      built = dataset(app, 'train').then((train) => {
        say(`Calibrating the activation ranges on ${CALIBRATION_IMAGES} training images…`);
        return fp32.quantize({
          variant: 'w8a8',
          calibration: { dataset: train, start: 0, count: CALIBRATION_IMAGES },
          onProgress: (done, total) => setProgress(done / Math.max(1, total)),
        });
      });
    } else {
      built = build('w8a8', fp32).then(async (base) => fp32.withRanges(await base.ranges(), { variant: spec }));
    }
    builds.set(spec, built);
    built.catch(() => builds.get(spec) === built && builds.delete(spec));
    return built;
  }

  const say = (text) => (status.textContent = text);
  const setProgress = (fraction) => {
    progress.hidden = false;
    progress.value = Math.max(0, Math.min(1, fraction));
  };

  function setRunning(on) {
    runButton.disabled = on || !model;
    cancelButton.disabled = !on;
    for (const [spec, box] of boxes) box.disabled = on || spec === 'fp32';
    if (on) section.setAttribute('aria-busy', 'true');
    else section.removeAttribute('aria-busy');
    section.dataset.accRunning = String(on);
  }

  async function run() {
    if (controller || !model) return;
    const fp32 = model;
    controller = new AbortController();
    const { signal } = controller;
    const specs = selectedSpecs(app.state, offered);
    // Cancel also ends the wait for a build (a calibration cannot stop midway; it stays cached).
    const stopped = new Promise((_, reject) => signal.addEventListener('abort', () => reject(abortError()), { once: true }));
    stopped.catch(() => {});
    setRunning(true);
    showError(errorBox, null);
    let done = 0;
    let current = null;
    try {
      say('Loading the 10,000 test images…');
      setProgress(0);
      const set = await app.busy('Accuracy: loading the test set', dataset(app, 'test'));
      names = set.names;
      const total = limit ? Math.min(limit, set.count) : set.count;
      const todo = specs.filter((s) => !results.has(s));
      for (const [k, spec] of todo.entries()) {
        if (signal.aborted || fp32 !== model) break;
        current = spec;
        if (spec !== 'fp32') say(`Building ${spec}…`);
        const variant = await Promise.race([build(spec, fp32), stopped]);
        if (signal.aborted || fp32 !== model) break;
        const label = `${spec} (${k + 1} of ${todo.length})`;
        say(`Running ${label} on ${count(total)} test images…`);
        const result = await variant.accuracy(set, {
          reference: spec === 'fp32' ? null : fp32,
          limit: total,
          chunk: CHUNK,
          signal,
          onProgress: (d, n) => {
            done = d;
            setProgress((k + d / Math.max(1, n)) / todo.length);
            say(`Running ${label}: ${count(d)} of ${count(n)} images…`);
          },
        });
        if (fp32 !== model) break;
        results.set(spec, result);
        render();
      }
      if (signal.aborted) throw abortError();
      if (fp32 === model) {
        const n = shownVariants().length;
        say(`${n} variant${n === 1 ? '' : 's'} on ${count(total)} test images${limit ? ` (the first ${count(total)}: acclimit in the URL)` : ''}.`);
      }
    } catch (e) {
      if (fp32 !== model) return;
      if (e?.name === 'AbortError') {
        say(`Cancelled${current ? ` during ${current}, after ${count(done)} images` : ''}. The variants that finished are kept; Run goes on from there.`);
        section.dataset.accCancelled = String(Number(section.dataset.accCancelled || 0) + 1);
      } else {
        say('');
        showError(errorBox, `The accuracy run failed: ${e?.message ?? e}`);
        markRendered(section, 'error');
      }
    } finally {
      if (controller?.signal === signal) controller = null;
      progress.hidden = true;
      setRunning(false);
    }
  }

  runButton.addEventListener('click', () => run());
  cancelButton.addEventListener('click', () => controller?.abort());

  // ---- drawing ----
  /** The variants run so far that are ticked, in display order. */
  const shownVariants = () => selectedSpecs(app.state, offered).filter((v) => results.has(v));

  function shownSpec() {
    const have = shownVariants();
    if (have.includes(app.state.accshow)) return app.state.accshow;
    return have.filter((v) => v !== 'fp32').at(-1) ?? have[0];
  }

  function render() {
    drawn = `${shownVariants().join(',')}|${shownSpec()}`;
    if (!shownVariants().length) {
      bars.replaceChildren();
      confusion.replaceChildren();
      changed.replaceChildren();
      changedNote.textContent = '';
      showRow.hidden = true;
      return;
    }
    drawBars();
    const have = shownVariants();
    const spec = shownSpec();
    show.replaceChildren(...have.map((v) => el('option', { value: v, text: v, selected: v === spec })));
    showRow.hidden = false;
    drawConfusion(spec);
    drawChanged(spec);
    markRendered(section);
  }

  function drawBars() {
    const list = shownVariants().map((v) => results.get(v));
    bars.dataset.variants = list.map((r) => r.variant).join(',');
    bars.dataset.images = String(list[0]?.images ?? 0);
    const fp32 = results.get('fp32');
    const worst = list.reduce((a, b) => (b.accuracy < a.accuracy ? b : a));
    bars.replaceChildren(accuracyBars(list, chartWidth(bars)), el('figcaption', {},
      el('strong', { text: 'Test accuracy per variant. ' }),
      fp32 && worst !== fp32
        ? `fp32 gets ${pct(fp32.accuracy)} right; ${worst.variant} ${pct(worst.accuracy)}, ${((fp32.accuracy - worst.accuracy) * 100).toFixed(1)} points less.`
        : 'Each bar is the share of test images answered with their label.'));
  }

  function drawConfusion(spec) {
    const r = results.get(spec);
    if (!r) return;
    confusion.dataset.variant = spec;
    confusion.dataset.images = String(r.images);
    let top = null;
    r.confusion.forEach((row, t) => row.forEach((n, p) => {
      if (t !== p && n > 0 && (!top || n > top.n)) top = { t, p, n };
    }));
    confusion.replaceChildren(confusionMap(r.confusion, names, chartWidth(confusion)), el('figcaption', {},
      el('strong', { text: `Confusion matrix of ${spec}. ` }),
      `Rows are the true class, columns the answer; the diagonal is right (${count(Math.round(r.accuracy * r.images))} of ${count(r.images)}).`,
      top ? ` Its most common mistake: ${names[top.t]} answered as ${names[top.p]} (${top.n} images).` : '',
      classLoss(r, results.get('fp32'))));
  }

  /** The class that lost most against fp32 (per-class accuracy), as a sentence. */
  function classLoss(r, fp32) {
    if (!fp32 || r === fp32) return '';
    let worst = null;
    r.per_class.forEach((a, c) => {
      const drop = fp32.per_class[c] - a;
      if (drop > 0 && (!worst || drop > worst.drop)) worst = { c, drop, a };
    });
    return worst ? ` ${names[worst.c]} lost most against fp32: ${pct(fp32.per_class[worst.c])} → ${pct(worst.a)} right.` : '';
  }

  const drawChanged = latest(async (spec, isCurrent) => {
    const r = results.get(spec);
    const set = await dataset(app, 'test').catch(() => null);
    if (!r || !set || !isCurrent()) return;
    const list = r.changed ?? [];
    changed.dataset.variant = spec;
    changed.dataset.count = String(list.length);
    if (spec === 'fp32') {
      changedNote.textContent = 'Choose a quantized variant to see the test images whose answer it changed.';
      changed.replaceChildren();
      return;
    }
    const fixed = list.filter((c) => c.predicted === c.label).length;
    const broken = list.filter((c) => c.reference === c.label).length;
    changedNote.textContent = list.length === 0
      ? `${spec} gives fp32’s answer on every one of the ${count(r.images)} images.`
      : `${spec} changed fp32’s answer on ${count(list.length)} of ${count(r.images)} images: ${fixed} became right, ${broken} became wrong, ${list.length - fixed - broken} stayed wrong another way.` +
        (list.length > MAX_SHOWN ? ` ${MAX_SHOWN} are drawn, the broken ones first.` : '');
    // The broken first (fp32 was right), then the fixed, then the ones wrong both ways.
    const rank = (c) => (c.reference === c.label ? 0 : c.predicted === c.label ? 1 : 2);
    const shown = list.slice().sort((a, b) => rank(a) - rank(b) || a.index - b.index).slice(0, MAX_SHOWN);
    const { width, height, images } = shown.length ? await set.images(shown.map((c) => c.index)) : { images: [] };
    if (!isCurrent()) return;
    changed.replaceChildren(...shown.map((c, i) => {
      const canvas = el('canvas', { width, height, role: 'img', 'aria-label': `test image ${c.index}` });
      canvas.getContext('2d').putImageData(new ImageData(images[i].pixels, width, height), 0, 0);
      const mark = (answer) => (answer === c.label ? '✓' : '✗');
      return el('li', {
        class: `acc-changed-item ${c.predicted === c.label ? 'acc-fixed' : c.reference === c.label ? 'acc-broken' : ''}`,
        'data-index': String(c.index), 'data-label': String(c.label), 'data-fp32': String(c.reference), 'data-variant': String(c.predicted),
      }, canvas, el('span', { class: 'acc-truth', text: names[c.label] }),
      el('span', { text: `fp32: ${names[c.reference]} ${mark(c.reference)}` }),
      el('span', { text: `${spec}: ${names[c.predicted]} ${mark(c.predicted)}` }));
    }));
  }, 0);

  show.addEventListener('change', () => app.setState({ accshow: show.value }));
  let drawn = ''; // the variants and the one drawn, as last rendered
  app.on('state', (s) => {
    syncBoxes();
    const now = `${shownVariants().join(',')}|${shownSpec()}`;
    if (!results.size || now === drawn) return;
    render();
  });
  observeWidth(section, () => results.size && render());

  // ---- the model on show ----
  app.onModel((m, modelInfo) => {
    controller?.abort();
    controller = null;
    const previous = model;
    for (const built of builds.values()) built.then((v) => v !== previous && v !== m && v.dispose(), () => {});
    builds = new Map();
    results = new Map();
    // The variants other panels made belonged to the previous model.
    for (const name of offered.splice(ACC_VARIANTS.length)) {
      boxes.get(name)?.closest('label')?.remove();
      boxes.delete(name);
    }
    render();
    info = modelInfo;
    const input = inputOf(info);
    if (!input.fits) {
      model = null;
      notice.hidden = false;
      const use = el('button', { type: 'button', id: 'acc-use-fmnist', text: 'Use the Fashion-MNIST CNN' });
      use.addEventListener('click', () => app.emit('choose-model', 'fmnist'));
      notice.replaceChildren(`This panel measures accuracy on Fashion-MNIST’s 28×28 grey pictures, and ${info?.name ?? 'this model'} takes ${input.channels}×${input.height}×${input.width} ${input.channels === 1 ? 'grey' : 'colour'} pictures. `, use);
      say('');
      setRunning(false);
      section.dataset.qsStatus = 'unsupported';
      return;
    }
    model = m;
    notice.hidden = true;
    setRunning(false);
    say(`${limit ? `The first ${count(limit)} test images (acclimit in the URL)` : 'The 10,000 test images'} are ready to run: choose the variants and press Run.`);
    section.dataset.qsStatus = 'idle';
  });
}
