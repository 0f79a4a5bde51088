// The page-worker messages are declared once, in pkg/protocol.js: every request type is handled
// by the worker and sent by the wrapper through its Req constant, and no request name is spelled
// as a string literal in index.js or worker.js. (Reads the sources; no browser, no build.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Build, ImageKind, REQUEST_TYPES, Req, errorReply, okReply, progressReport } from '../../pkg/protocol.js';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'pkg');
const source = (f) => readFileSync(path.join(pkg, f), 'utf8');
/** The source without its comments (which may name a message in prose). */
const code = (text) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

test('request types are unique strings', () => {
  const values = Object.values(Req);
  assert.ok(values.length >= 19);
  assert.equal(new Set(values).size, values.length);
  assert.equal(REQUEST_TYPES.size, values.length);
  for (const v of values) assert.match(v, /^[a-z][a-z-]*$/);
  assert.ok(Object.isFrozen(Req) && Object.isFrozen(ImageKind) && Object.isFrozen(Build));
});

test('the worker handles every request type and the wrapper sends each through Req', () => {
  const worker = source('worker.js');
  // The wrapper is index.js and its dataset half, dataset.js.
  const index = source('index.js') + source('dataset.js');
  for (const key of Object.keys(Req)) {
    assert.match(worker, new RegExp(`case Req\\.${key}:`), `worker.js does not handle Req.${key}`);
    assert.match(index, new RegExp(`Req\\.${key}\\b`), `index.js never sends Req.${key}`);
  }
  for (const [file, text] of [['index.js', code(source('index.js'))], ['dataset.js', code(source('dataset.js'))], ['worker.js', code(worker)]]) {
    assert.match(text, /from '\.\/protocol\.js'/, `${file} does not import protocol.js`);
    for (const v of [...Object.values(Req), ...Object.values(ImageKind)]) {
      const literal = new RegExp(`(['"\`])${v}\\1`);
      assert.doesNotMatch(text, literal, `${file} spells the message name '${v}' instead of using protocol.js`);
    }
  }
});

test('the package ships protocol.js and keeps a module worker bundlers can see', () => {
  const manifest = JSON.parse(source('package.json'));
  assert.ok(manifest.files.includes('protocol.js'));
  assert.ok(manifest.files.includes('dataset.js'));
  assert.match(source('index.js'), /new Worker\(new URL\('\.\/worker\.js', import\.meta\.url\), \{ type: 'module'/);
});

test('reply shapes', () => {
  assert.deepEqual(okReply(3, { a: 1 }), { id: 3, ok: true, result: { a: 1 } });
  assert.deepEqual(progressReport(4, 1, 2), { id: 4, progress: { done: 1, total: 2 } });
  const e = errorReply(5, new TypeError('bad'));
  assert.deepEqual(e, { id: 5, ok: false, fatal: false, error: { name: 'TypeError', message: 'bad' } });
  assert.equal(errorReply(6, new WebAssembly.RuntimeError('unreachable')).fatal, true);
  assert.deepEqual(errorReply(7, 'text').error, { name: 'Error', message: 'text' });
});
