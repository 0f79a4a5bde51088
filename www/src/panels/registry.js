// The one list of panels: the nav links and the <section>s are generated from it (main.js), in
// this order. `key` is the hash's `panel=` value and the section's id `panel-<key>`; `title` is
// the nav link's text; `module` exports mount(section, app).
import * as compare from './compare.js';
import * as weights from './weights.js';
import * as bins from './bins.js';
import * as bits from './bitdepth.js';
import * as sizes from './sizes.js';
import * as accuracy from './accuracy.js';
import * as qat from './qat.js';

export const PANELS = [
  { key: 'compare', title: 'Side by side', module: compare },
  { key: 'weights', title: 'Weights', module: weights },
  { key: 'bins', title: 'Bins', module: bins },
  { key: 'bits', title: 'Bit depth', module: bits },
  { key: 'sizes', title: 'Size & speed', module: sizes },
  { key: 'accuracy', title: 'Accuracy', module: accuracy },
  { key: 'qat', title: 'QAT', module: qat },
];

/** The registry entry of a key, or undefined. */
export const panelOf = (key) => PANELS.find((p) => p.key === key);
