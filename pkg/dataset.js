// quantscope: labelled datasets on the main-thread side (the wrapper's part of index.js that
// concerns them): QsDataset, the arguments of loadDataset(), quantize() calibrated on a dataset,
// predict() and accuracy(), and the AbortError of a cancelled request. The engine decodes and
// holds the data in the worker; a QsDataset is its handle.

import { Req } from './protocol.js';

/** Only Quantscope.loadDataset() makes QsDatasets. */
export const DATASET_KEY = Symbol('quantscope.dataset');

const index = (value, name) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not ${value}`);
  return n;
};

/** The rejection of a request stopped by its abort signal (name `AbortError`, as fetch's). */
export function abortError() {
  const err = new Error('the request was cancelled');
  err.name = 'AbortError';
  return err;
}

/** `{ dataset, start, count }` of a calibration from a dataset (a QsDataset or that object), else null. */
export function datasetCalibration(c) {
  const d = c instanceof QsDataset ? c : c?.dataset instanceof QsDataset ? c.dataset : null;
  if (!d) return null;
  if (d._disposed) throw new Error('quantize(): the calibration dataset was disposed');
  const start = index(c.start ?? 0, 'calibration start');
  const count = Math.min(index(c.count ?? d.count, 'calibration count'), Math.max(0, d.count - start));
  return { dataset: d._id, start, count };
}

/** `d` if it is a live QsDataset; else an Error naming the method (`where`). */
export function datasetArg(d, where) {
  if (!(d instanceof QsDataset)) throw new Error(`${where} needs a dataset from loadDataset()`);
  if (d._disposed) throw new Error(`${where}: the dataset was disposed`);
  return d;
}

/**
 * A labelled dataset decoded in the engine (loadDataset()): `count` images of `rows` x `cols`
 * grey pixels, each labelled with one of `classes` classes named `names`.
 */
export class QsDataset {
  constructor(key, owner, id, info) {
    if (key !== DATASET_KEY) throw new TypeError('use Quantscope.loadDataset()');
    this._owner = owner;
    this._id = id;
    this._disposed = false;
    /** Number of images. */
    this.count = info.count;
    /** Number of classes. */
    this.classes = info.classes;
    /** The class names, by label. */
    this.names = info.names;
    /** Picture height. */
    this.rows = info.rows;
    /** Picture width. */
    this.cols = info.cols;
  }

  /**
   * Pictures `indices` (at most 1000) as `{ width, height, images: [{ index, label, pixels }] }`,
   * `pixels` RGBA (`new ImageData(pixels, width, height)`).
   */
  images(indices) {
    if (this._disposed) return Promise.reject(new Error('this dataset was disposed'));
    if (!Array.isArray(indices)) return Promise.reject(new Error('images() takes an array of image numbers'));
    return this._owner._request(Req.DATASET_IMAGES, { dataset: this._id, indices: indices.map((i) => index(i, 'index')) });
  }

  /** Frees the dataset in the engine. Further calls reject. */
  async dispose() {
    if (this._disposed) return;
    this._disposed = true;
    this._owner._datasets.delete(this._id);
    try {
      await this._owner._request(Req.DISPOSE_DATASET, { dataset: this._id });
    } catch {
      // The worker is gone or restarting: nothing left to free.
    }
  }
}

/** A dataset file argument: bytes (copied), or a URL resolved against the page and checked to be same-origin. */
export function datasetSource(source, what) {
  if (source instanceof ArrayBuffer) return new Uint8Array(source.slice(0));
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength).slice();
  if (typeof source === 'string' || source instanceof URL) {
    const base = globalThis.document?.baseURI ?? globalThis.location?.href;
    const url = new URL(String(source), base);
    const origin = globalThis.location?.origin;
    if (origin && url.origin !== origin) {
      throw new Error(`loadDataset(): the ${what} file ${url.href} is not on this page's origin: refused`);
    }
    return url.href;
  }
  throw new Error(`loadDataset(): ${what} must be the file's bytes (Uint8Array, ArrayBuffer) or its URL`);
}
