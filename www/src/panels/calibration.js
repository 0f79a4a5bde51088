// The calibration set of the static int8 variants: the sample photos plus the visitor's own,
// a Recalibrate button, and a progress bar fed by the app's 'calibration' events. Also keeps
// body[data-int8] ('calibrating' | 'ready' | 'error') for the tests and for styling.

import { el } from './dom.js';

export function calibrationControls(app) {
  let pending = null; // the visitor's images not yet used: [{ name, blob, sample: false }]

  const summary = el('p', { class: 'calib-summary', id: 'calib-summary' });
  const files = el('input', { type: 'file', id: 'calib-files', accept: 'image/*', multiple: true, class: 'visually-hidden' });
  const add = el('label', { for: 'calib-files', class: 'button', text: 'Add your images…' });
  const recalibrate = el('button', { type: 'button', id: 'recalibrate', text: 'Recalibrate', disabled: true });
  const reset = el('button', { type: 'button', id: 'calib-reset', text: 'Samples only' });
  const label = el('label', { for: 'calib-progress', id: 'calib-label', text: 'Calibration waits for the model…' });
  const progress = el('progress', { id: 'calib-progress', max: 1, value: 0 });
  const status = el('div', { id: 'calib-status', class: 'model-status' }, label, progress);
  const element = el(
    'div',
    { class: 'calibration', role: 'group', 'aria-label': 'Calibration set' },
    summary,
    el('div', { class: 'row' }, files, add, recalibrate, reset),
    status,
  );

  const current = () => pending ?? app.calibration;
  function describe() {
    const set = current();
    const mine = set.filter((i) => !i.sample);
    const samples = set.length - mine.length;
    // A 28x28 grey model calibrates on Fashion-MNIST training pictures (see fmnist.js).
    const kind = set.some((i) => i.sample && i.name.startsWith('fmnist-train-')) ? 'Fashion-MNIST training picture' : 'sample photo';
    let text = `Calibration set: ${samples} ${kind}${samples === 1 ? '' : 's'}`;
    if (mine.length) text += ` + ${mine.length} of yours (${mine.map((i) => i.name).join(', ')})`;
    if (pending) text += ' — not used yet: press Recalibrate.';
    summary.textContent = text;
    recalibrate.disabled = !pending;
    reset.disabled = !set.some((i) => !i.sample);
  }

  files.addEventListener('change', () => {
    const chosen = [...(files.files ?? [])].map((f) => ({ name: f.name, blob: f, sample: false }));
    files.value = '';
    if (!chosen.length) return;
    pending = [...current(), ...chosen];
    describe();
  });
  recalibrate.addEventListener('click', () => {
    if (!pending) return;
    const next = pending;
    pending = null;
    app.setCalibration(next);
  });
  reset.addEventListener('click', () => {
    pending = null;
    app.setCalibration(app.calibration.filter((i) => i.sample));
  });

  // Progress over one round of builds (per channel, then per tensor, ...).
  const running = new Map(); // variant name -> { done, total }
  let round = { done: 0, total: 0 };
  app.on('calibration', ({ name, done, total, error }) => {
    if (error) {
      running.delete(name);
      label.textContent = `Calibration of ${name} failed: ${error.message}. Try another observer, or “Samples only”.`;
      status.classList.add('error');
      if (name === 'w8a8') document.body.dataset.int8 = 'error';
      return;
    }
    if (!running.has(name) && running.size === 0) round = { done: 0, total: 0 };
    if (!running.has(name)) round.total += total;
    running.set(name, { done, total });
    status.classList.remove('error');
    status.hidden = false;
    const sum = round.total - [...running.values()].reduce((s, r) => s + r.total - r.done, 0);
    progress.max = round.total;
    progress.value = sum;
    label.textContent = `Calibrating ${name} (${app.observer}) on ${total} images: ${done} of ${total}`;
    if (name === 'w8a8') document.body.dataset.int8 = 'calibrating';
    if (done >= total) finish(name);
  });
  // A build finishes with the 'variant' event (the last progress report may come first).
  app.on('variant', ({ name }) => {
    if (name === 'w8a8') document.body.dataset.int8 = 'ready';
    finish(name);
  });
  function finish(name) {
    running.delete(name);
    if (running.size === 0 && round.total > 0) {
      progress.value = progress.max;
      label.textContent = `Calibrated on ${app.calibration.length} images (observer: ${app.observer}).`;
    }
  }

  app.on('calibration-set', describe);
  describe();
  return { element };
}
