// Fashion-MNIST on the page: the 10k test set and the 10k training subset as static files of
// this page (./data/, written by `make www`), fetched and decoded by the engine's worker and
// loaded once per engine; which models can read them (a 28x28 grey input); and the test images
// offered as samples while such a model is on show (the bit-depth panel then works on them).
import { el } from './panels/dom.js';

/** The page's own copies of the IDX files (same origin: the worker refuses any other). */
export const DATA_FILES = {
  test: { images: './data/t10k-images-idx3-ubyte.gz', labels: './data/t10k-labels-idx1-ubyte.gz' },
  train: { images: './data/train10k-images-idx3-ubyte.gz', labels: './data/train10k-labels-idx1-ubyte.gz' },
};
/** Training pictures the page's calibration set becomes while a 28x28 grey model is on show. */
export const CALIBRATION_COUNT = 100;
/** The test images offered as samples (one of each of the first classes to appear). */
export const SAMPLE_INDICES = [0, 1, 2, 4, 8, 9, 11, 12, 18];
const SAMPLE_NAME = /^fmnist-(\d+)\.png$/;

/** `fmnist-<i>.png`, the sample name (and hash value) of test image `i`. */
export const sampleName = (i) => `fmnist-${i}.png`;

const loaded = new Map(); // split -> { qs, promise }

/** Promise<QsDataset> of `split` ('test' | 'train'), loaded once per engine. */
export function dataset(app, split) {
  const have = loaded.get(split);
  if (have && have.qs === app.qs) return have.promise;
  const files = DATA_FILES[split];
  const promise = app.qs.loadDataset({ images: files.images, labels: files.labels });
  loaded.set(split, { qs: app.qs, promise });
  promise.catch(() => loaded.get(split)?.promise === promise && loaded.delete(split)); // tried again next time
  return promise;
}

/**
 * The model's input as `{ channels, height, width }` (from its resolved metadata), and whether
 * it reads Fashion-MNIST's pictures as they are: one grey channel of 28x28.
 */
export function inputOf(info) {
  const input = info?.metadata?.input ?? {};
  const [, a, b, c] = input.shape ?? [];
  const [channels, height, width] = input.layout === 'NHWC' ? [c, a, b] : [a, b, c];
  return { channels, height, width, fits: channels === 1 && height === 28 && width === 28 };
}

/** A dataset picture as a PNG File (named like a sample), for the image input and calibration. */
async function samplePng(image, width, height, name = sampleName(image.index)) {
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext('2d').putImageData(new ImageData(image.pixels, width, height), 0, 0);
  const blob = await canvas.convertToBlob({ type: 'image/png' });
  return new File([blob], name, { type: 'image/png' });
}

/**
 * While a 28x28 grey model is on show, the calibration set of the other panels' static variants
 * is the first CALIBRATION_COUNT training pictures (photos squeezed to 28x28 grey would give
 * the activations wrong ranges); the visitor's set comes back with another model.
 */
function followCalibration(app) {
  let saved = null; // the calibration set a 28x28 grey model replaced
  let ours = null; // the training pictures, made once
  let request = 0;
  app.onModel(async (model, info) => {
    const mine = ++request;
    if (!inputOf(info).fits) {
      if (saved) app.setCalibration(saved);
      saved = null;
      return;
    }
    try {
      if (!ours) {
        const train = await dataset(app, 'train');
        const indices = Array.from({ length: Math.min(CALIBRATION_COUNT, train.count) }, (_, i) => i);
        const { width, height, images } = await train.images(indices);
        ours = await Promise.all(images.map(async (image) => ({
          name: `fmnist-train-${image.index}.png`,
          blob: await samplePng(image, width, height, `fmnist-train-${image.index}.png`),
          sample: true,
        })));
      }
      if (mine !== request || app.model !== model) return;
      saved ??= app.calibration;
      app.setCalibration(ours);
    } catch (e) {
      app.error(`Could not load the Fashion-MNIST training images for calibration: ${e.message}`);
    }
  });
}

/**
 * A row of Fashion-MNIST test images under the photo samples, shown while a 28x28 grey model
 * is on show. Choosing the model puts the first one on show in place of a sample photo (a
 * photo squeezed to 28x28 grey says little); `sample=fmnist-<i>.png` in the hash opens one.
 * `useImage(file, sampleName)` puts an image on show; `usePhoto()` puts a sample photo back when
 * another model replaces it while a test image is on show.
 */
export function initFashionSamples(app, { useImage, usePhoto }) {
  followCalibration(app);
  const list = el('ul', { id: 'fmnist-samples' });
  const box = el('div', { class: 'samples fmnist-samples', role: 'group', 'aria-labelledby': 'fmnist-samples-heading', hidden: true },
    el('h3', { id: 'fmnist-samples-heading', text: 'Fashion-MNIST test images' }), list);
  document.querySelector('.samples')?.after(box);
  let files = null; // Map name -> File
  let request = 0;

  async function show(name) {
    const file = files?.get(name);
    if (file) useImage(file, name);
  }

  async function fill() {
    const mine = ++request;
    const set = await dataset(app, 'test');
    const { width, height, images } = await set.images(SAMPLE_INDICES);
    if (mine !== request) return;
    files = new Map();
    const items = [];
    for (const image of images) {
      const file = await samplePng(image, width, height);
      files.set(file.name, file);
      const canvas = el('canvas', { width, height, 'aria-hidden': 'true' });
      canvas.getContext('2d').putImageData(new ImageData(image.pixels, width, height), 0, 0);
      const button = el('button', {
        type: 'button', class: 'sample fmnist-sample', 'data-name': file.name,
        'aria-label': `Fashion-MNIST test image ${image.index}: ${set.names[image.label]}`,
      }, canvas);
      button.addEventListener('click', () => show(file.name));
      items.push(el('li', {}, button));
    }
    list.replaceChildren(...items);
  }

  const isPhoto = () => !app.image || !SAMPLE_NAME.test(app.image.name ?? '');

  app.onModel(async (model, info) => {
    const fits = inputOf(info).fits;
    box.hidden = !fits;
    if (!fits) {
      if (!isPhoto()) usePhoto?.();
      return;
    }
    try {
      if (!files) await fill();
      const linked = SAMPLE_NAME.test(app.state.sample ?? '') ? app.state.sample : null;
      if (linked && files.has(linked)) show(linked);
      else if (isPhoto() && app.model === model) show(sampleName(SAMPLE_INDICES[0]));
    } catch (e) {
      app.error(`Could not load the Fashion-MNIST test images: ${e.message}`);
    }
  });
  app.on('state', (s) => {
    if (SAMPLE_NAME.test(s.sample ?? '') && s.sample !== app.image?.name) show(s.sample);
  });
  app.on('image', (image) => {
    for (const b of list.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.name === image?.name));
  });
}
