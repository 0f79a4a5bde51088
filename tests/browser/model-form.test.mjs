// The model picker's pure helpers in Node (no browser): labels files in their usual forms and
// the torchvision default of the resize. Run: `node --test tests/browser/model-form.test.mjs`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultShorter, isModelFile, parseLabels } from '../../www/src/model-picker.js';

describe('model picker helpers', () => {
  it('reads labels: one per line (CRLF, BOM, blank lines), a JSON array, a JSON class index', () => {
    assert.deepEqual(parseLabels('\uFEFFcat\r\ndog\n\n  bird \n', 'labels.txt'), ['cat', 'dog', 'bird']);
    assert.deepEqual(parseLabels('["cat", "dog"]', 'labels.json'), ['cat', 'dog']);
    assert.deepEqual(parseLabels('{"1": ["n2", "dog"], "0": ["n1", "cat"], "10": ["n3", "bird"]}', 'imagenet_class_index.json'),
      ['cat', 'dog', 'bird']);
    assert.deepEqual(parseLabels('{"0": "cat", "1": "dog"}', 'x.json'), ['cat', 'dog']);
  });

  it('names the file and the problem for a bad labels file', () => {
    assert.throws(() => parseLabels('["cat",', 'labels.json'), /labels\.json is not valid JSON/);
    assert.throws(() => parseLabels('[{"a": 1}]', 'labels.json'), /labels\.json: expected a JSON array of labels/);
  });

  it('takes .onnx files as models, anything else as images', () => {
    assert.equal(isModelFile({ name: 'net.ONNX' }), true);
    assert.equal(isModelFile({ name: 'cat.png' }), false);
    assert.equal(isModelFile(null), false);
  });

  it('scales the shorter side by 256/224 before the centre crop', () => {
    assert.equal(defaultShorter(224, 224), 256);
    assert.equal(defaultShorter(64, 64), 73);
    assert.equal(defaultShorter(240, 320), 274);
  });
});
