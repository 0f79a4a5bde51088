// Small helpers shared by the weights, bins and bits panels (number formatting, request
// scheduling). Kept apart from the shell's files: each panel owns its own code.
import './quant-panels.css';
import { el } from './dom.js';

/** A number with `digits` significant digits, tidy for small and large magnitudes. */
export function num(x, digits = 3) {
  if (x == null || Number.isNaN(x)) return '–';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  const s = a >= 1e-3 && a < 1e5 ? Number(x.toPrecision(digits)).toString() : x.toExponential(digits - 1);
  return s.replace('-', '−');
}

/** dB values: the engine sends Infinity (or null through JSON) for an exact copy. */
export function db(x) {
  if (x == null || !Number.isFinite(x)) return '∞ dB';
  return `${x.toFixed(1)} dB`;
}

/** The marker of the scheme drawn: every width on the page is one the engine executes. */
export function schemeNote(spec) {
  return el('span', { class: 'qsp-real', text: `${spec}: what the engine executes` });
}

/**
 * Runs `task(args, isCurrent)` for the latest call only: calls within `delay` ms collapse into
 * one, a call made while a task runs waits for it (the worker answers in order anyway), and
 * `isCurrent()` turns false once a newer call exists so a stale reply is dropped.
 */
export function latest(task, delay = 60) {
  let want = null;
  let timer = 0;
  let busy = false;
  let gen = 0;
  const fire = async () => {
    timer = 0;
    if (busy || !want) return;
    const { args, id } = want;
    want = null;
    busy = true;
    try {
      await task(args, () => id === gen);
    } finally {
      busy = false;
      if (want && !timer) fire();
    }
  };
  return (args, now = false) => {
    gen += 1;
    want = { args, id: gen };
    clearTimeout(timer);
    timer = 0;
    if (now) fire();
    else timer = setTimeout(fire, delay);
  };
}

/** Calls `fn` after `ms` of quiet. */
export function debounce(fn, ms) {
  let t = 0;
  return (...a) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...a), ms);
  };
}

/** Shows a readable message in the panel's error line (or hides it). */
export function showError(box, err) {
  if (!err) {
    box.hidden = true;
    box.textContent = '';
    return;
  }
  const msg = err instanceof Error ? err.message : String(err);
  box.textContent = msg || 'something went wrong';
  box.hidden = false;
}

/** Marks the section for tests and styles: status and a render counter. */
export function markRendered(section, status = 'ready') {
  section.dataset.qsStatus = status;
  section.dataset.qsRev = String(Number(section.dataset.qsRev || 0) + 1);
}

/**
 * Opacity for `count` thin rules evenly spread over `fraction` of a `width`-px chart: dense
 * grids (255 levels on a phone) fade to a tint instead of a solid grey wall.
 */
export function ruleOpacity(count, width, fraction = 1, max = 0.75) {
  const spacing = (width * fraction) / Math.max(1, count);
  return Math.max(0.12, Math.min(max, spacing / 10));
}
