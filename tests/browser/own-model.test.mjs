// The visitor's own model (issue 12): a bad .onnx is reported with the engine's message while
// EfficientNet-Lite0 keeps classifying; the committed tiny fixture (torchvision
// mobilenet_v3_small at width 0.25: 10 classes, 64×64 input, random weights) is chosen through
// the model picker's file input, its form is prefilled from the graph and accepted, and every
// panel works on it (compare columns with 'class N' labels, its own layers in weights and bins);
// ticked "keep", it comes back after a reload from IndexedDB; a channels-last Keras export shows
// the node its w8a8 variant runs in float. No request leaves 127.0.0.1.
// Screenshots: test-output/screenshots/own-model-*.png. Run from the repository root:
// `node --test tests/browser/own-model.test.mjs`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { checkInputs, isLocal, openPage, repo, screenshot, screenshotOf } from './harness.mjs';

const READY_TIMEOUT = 120_000;
const STEP_TIMEOUT = 90_000;
const FIXTURE = path.join(repo, 'tests', 'fixtures', 'corpus', 'torch-mobilenet_v3_small-w025.onnx');
const CLASS = /^class \d$/;

checkInputs();

/** The top-5 labels of each compare column, once fp32 and w8a8 both show theirs. */
async function waitColumns(page, variants = ['fp32', 'w8a8']) {
  await page.waitForFunction((names) => {
    if (document.body.dataset.state === 'error') return true;
    return names.every((n) => {
      const col = document.querySelector(`#compare-columns .column[data-variant="${n}"]`);
      return col && col.querySelectorAll('.predictions li .label').length > 0 && !col.querySelector('.predictions[aria-busy]');
    });
  }, variants, { timeout: STEP_TIMEOUT });
  if ((await page.evaluate(() => document.body.dataset.state)) === 'error') {
    assert.fail(`classification failed: ${await page.textContent('#error')}`);
  }
  return page.$$eval('#compare-columns .column', (cols) => Object.fromEntries(cols.map((c) =>
    [c.dataset.variant, [...c.querySelectorAll('.predictions li .label')].map((l) => l.textContent.trim())])));
}

/** The options of a panel's layer picker, once the panel drew a layer of the model on show. */
async function panelLayers(page, name) {
  await page.waitForFunction((n) => {
    const s = document.getElementById(`panel-${n}`);
    const select = document.getElementById(`${n}-layer`);
    return ['ready', 'error'].includes(s.dataset.qsStatus) && !s.hasAttribute('aria-busy') && !select.disabled;
  }, name, { timeout: STEP_TIMEOUT });
  const status = await page.$eval(`#panel-${name}`, (s) => s.dataset.qsStatus);
  if (status !== 'ready') assert.fail(`${name}: ${await page.textContent(`#panel-${name} .qsp-error`)}`);
  return page.$$eval(`#${name}-layer option`, (os) => os.map((o) => o.value));
}

describe('your own .onnx model', { timeout: 300_000 }, () => {
  let opened;
  let page;
  let lite0Layers;

  before(async () => {
    // Two columns keep the test short; every panel still runs on each model.
    opened = await openPage({ hash: '#variants=fp32,w8a8&sample=coffee.png', viewport: { width: 1280, height: 900 } });
    ({ page } = opened);
    await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null, { timeout: READY_TIMEOUT });
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready', await page.textContent('#error'));
  });

  after(() => opened?.close());

  it('starts on EfficientNet-Lite0, the first entry of the picker', async () => {
    assert.equal(await page.isChecked('#model-builtin'), true);
    assert.equal(await page.getAttribute('body', 'data-model'), 'builtin');
    const cols = await waitColumns(page);
    assert.equal(cols.fp32[0], 'espresso');
    lite0Layers = await panelLayers(page, 'weights');
    assert.ok(lite0Layers.length > 20, `EfficientNet-Lite0 layers: ${lite0Layers.length}`);
  });

  it('reports a bad .onnx dropped on the page with the engine’s message and keeps EfficientNet-Lite0 working', async () => {
    // Dropped like a visitor does: an .onnx goes to the model picker, not to the image input.
    const bytes = [...randomBytes(4096)];
    await page.evaluate((data) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(data)], 'bad.onnx', { type: 'application/octet-stream' }));
      document.querySelector('main').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, bytes);
    await page.waitForSelector('#model-error:not([hidden])', { timeout: STEP_TIMEOUT });
    const message = (await page.textContent('#model-error')).trim();
    await screenshotOf(page, '#model-picker', 'own-model-bad-file');
    assert.match(message, /bad\.onnx/, message);
    assert.match(message, /EfficientNet-Lite0 is still in use/, message);
    assert.doesNotMatch(message, /\[object |undefined|RuntimeError|unreachable/, message);
    assert.equal(await page.getAttribute('body', 'data-model'), 'builtin');
    assert.equal(await page.isChecked('#model-builtin'), true);
    // Still classifying: another sample goes through fp32 and w8a8.
    await page.click('button.sample[data-name="chelsea.png"]');
    await page.waitForFunction(() => document.querySelector('#preview')?.alt === 'Sample: chelsea.png');
    const cols = await waitColumns(page);
    assert.ok(cols.fp32.length === 5 && !CLASS.test(cols.fp32[0]), `fp32: ${cols.fp32}`);
  });

  it('loads the tiny fixture through the file input, prefills the form from the graph and accepts it', async () => {
    await page.setInputFiles('#model-file', FIXTURE);
    await page.waitForFunction(() => document.body.dataset.model === 'own', null, { timeout: STEP_TIMEOUT });
    assert.equal(await page.isVisible('#model-error'), false, await page.textContent('#model-error'));
    assert.equal(await page.isChecked('#model-own'), true);
    assert.equal(await page.isVisible('#model-form'), true);
    // What the file says: 64×64 NCHW (fixed by the file), 10 outputs; the rest are the defaults.
    assert.equal(await page.inputValue('#model-input-h'), '64');
    assert.equal(await page.inputValue('#model-input-w'), '64');
    assert.equal(await page.inputValue('#model-layout'), 'NCHW');
    assert.match(await page.textContent('#model-dims-note'), /fixed by the file/i);
    assert.match(await page.textContent('#model-labels-note'), /10 classes/);
    assert.equal(await page.inputValue('#model-channels'), 'RGB');
    assert.equal(await page.inputValue('#model-resize'), 'crop');
    assert.equal(await page.inputValue('#model-resize-shorter'), '73');
    assert.equal(await page.getAttribute('#preview', 'alt'), 'Sample: chelsea.png', 'the .onnx went to the image input');
    // Settings the file contradicts (channels last for a [1, 3, 64, 64] input): the engine's
    // message, and the model keeps its settings.
    const before = await page.textContent('#model-name');
    await page.selectOption('#model-layout', 'NHWC');
    await page.click('#model-apply');
    await page.waitForSelector('#model-form-status.error', { timeout: STEP_TIMEOUT });
    assert.match(await page.textContent('#model-form-status'), /The engine refused these settings: .{10,}/);
    assert.equal(await page.textContent('#model-name'), before);
    assert.equal(await page.getAttribute('body', 'data-model'), 'own');
    await page.selectOption('#model-layout', 'NCHW');
    // Accept the form with a name of ours, kept on this device.
    await page.fill('#model-meta-name', 'tiny mobilenet');
    await page.check('#model-keep');
    await page.click('#model-apply');
    await page.waitForFunction(() => /In use: tiny mobilenet/.test(document.querySelector('#model-form-status').textContent),
      null, { timeout: STEP_TIMEOUT });
    await page.waitForFunction(() => /Kept on this device/.test(document.querySelector('#model-keep-note').textContent),
      null, { timeout: STEP_TIMEOUT });
    assert.match(await page.textContent('#model-name'), /tiny mobilenet/);
  });

  it('every panel works on it: compare columns with class N labels, its own layers in weights and bins', async () => {
    const cols = await waitColumns(page);
    for (const v of ['fp32', 'w8a8']) {
      assert.equal(cols[v].length, 5, `${v}: ${cols[v]}`);
      assert.ok(cols[v].every((l) => CLASS.test(l)), `${v} labels: ${cols[v]}`);
    }
    // The w8a8 column says how many nodes run in float (a number, possibly 0).
    await page.waitForFunction(() => document.querySelector('#float-nodes-w8a8')?.dataset.count != null, null, { timeout: STEP_TIMEOUT });
    const floats = Number(await page.getAttribute('#float-nodes-w8a8', 'data-count'));
    assert.ok(Number.isInteger(floats), `float nodes: ${floats}`);
    if (floats > 0) assert.match(await page.textContent('#float-nodes-w8a8'), /runs? in float/);

    const weights = await panelLayers(page, 'weights');
    const bins = await panelLayers(page, 'bins');
    assert.ok(weights.length > 5, `weights layers: ${weights}`);
    assert.deepEqual(bins, weights);
    assert.notDeepEqual(weights, lite0Layers, 'still EfficientNet-Lite0’s layers');
    assert.equal(await page.getAttribute('#weights-stats', 'data-layer'), weights[0]);
    // Bit depth classifies with this model too: its top-1 labels are class N.
    await page.waitForFunction(() => document.querySelectorAll('#bits-series li[data-top1]').length > 0
      && [...document.querySelectorAll('#bits-series li')].every((li) => /^class \d$/.test(li.dataset.top1)), null, { timeout: STEP_TIMEOUT });
    // Sizes: measured on this model once the columns are done, in kilobytes (it is small).
    await page.waitForFunction(() => /^tiny mobilenet: /.test(document.querySelector('#sizes-note').textContent), null, { timeout: STEP_TIMEOUT });
    const fp32Bytes = Number(await page.getAttribute('#sizes-table tr[data-variant="fp32"]', 'data-raw-bytes'));
    assert.ok(fp32Bytes > 1e5 && fp32Bytes < 1e6, `fp32 weights: ${fp32Bytes} bytes`);
    await screenshot(page, 'own-model-page');
    await screenshotOf(page, '#panel-compare', 'own-model-compare', { style: '.panel-nav { visibility: hidden !important; }' });
    await screenshotOf(page, '#panel-weights', 'own-model-weights', { style: '.panel-nav { visibility: hidden !important; }' });
    // On a phone the form and this model's long layer names fit the width.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300); // charts redraw on resize
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    await screenshotOf(page, '#model-picker', 'own-model-form-390');
    await page.setViewportSize({ width: 1280, height: 900 });
    assert.ok(width <= 390, `horizontal scroll at 390 px: ${width}`);
  });

  it('kept on this device, it comes back after a reload (from IndexedDB)', async () => {
    await page.reload();
    await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null, { timeout: READY_TIMEOUT });
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready', await page.textContent('#error'));
    assert.equal(await page.getAttribute('body', 'data-model'), 'own');
    assert.equal(await page.isChecked('#model-keep'), true);
    assert.match(await page.textContent('#model-name'), /tiny mobilenet/);
    assert.match(await page.textContent('#model-kept'), /torch-mobilenet_v3_small-w025\.onnx/);
    const cols = await waitColumns(page);
    assert.ok(cols.fp32.every((l) => CLASS.test(l)), `fp32 labels after the reload: ${cols.fp32}`);
    await screenshotOf(page, '#model-picker', 'own-model-kept');
  });

  it('back to EfficientNet-Lite0: the panels follow', async () => {
    await page.check('#model-builtin');
    await page.waitForFunction(() => document.body.dataset.model === 'builtin', null, { timeout: STEP_TIMEOUT });
    const cols = await waitColumns(page);
    assert.ok(cols.fp32.length === 5 && !CLASS.test(cols.fp32[0]), `fp32: ${cols.fp32}`); // ImageNet names again
    assert.deepEqual(await panelLayers(page, 'weights'), lite0Layers);
    // Still kept, and offered.
    await page.waitForSelector('#model-kept-open', { timeout: STEP_TIMEOUT });
    assert.match(await page.textContent('#model-kept'), /Kept on this device: torch-mobilenet_v3_small-w025\.onnx/);
  });

  it('left on EfficientNet-Lite0, the page reopens on it and offers the kept model', async () => {
    // One column: the worker does not calibrate EfficientNet-Lite0 before it loads the kept model.
    await page.evaluate(() => history.replaceState(null, '', '#variants=fp32&sample=coffee.png'));
    await page.reload();
    await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null, { timeout: READY_TIMEOUT });
    assert.equal(await page.getAttribute('body', 'data-model'), 'builtin');
    await page.waitForSelector('#model-kept-open', { timeout: STEP_TIMEOUT });
    await page.click('#model-kept-open');
    await page.waitForFunction(() => document.body.dataset.model === 'own', null, { timeout: STEP_TIMEOUT });
    assert.match(await page.textContent('#model-name'), /tiny mobilenet/);
    const cols = await waitColumns(page, ['fp32']);
    assert.ok(cols.fp32.every((l) => CLASS.test(l)), `fp32 labels: ${cols.fp32}`);
  });

  it('a channels-last Keras export: NHWC read from the graph; its w8a8 column names the node left in float (Softmax)', async () => {
    await page.check('#variant-w8a8');
    await page.setInputFiles('#model-file', path.join(repo, 'tests', 'fixtures', 'corpus', 'keras-mobile-blocks-nhwc.onnx'));
    await page.waitForFunction(() => /keras-mobile-blocks-nhwc/.test(document.querySelector('#model-name').textContent), null, { timeout: STEP_TIMEOUT });
    assert.equal(await page.inputValue('#model-layout'), 'NHWC');
    assert.equal(await page.inputValue('#model-input-h'), '48');
    await waitColumns(page);
    await page.waitForFunction(() => document.querySelector('#float-nodes-w8a8')?.dataset.count != null, null, { timeout: STEP_TIMEOUT });
    const count = Number(await page.getAttribute('#float-nodes-w8a8', 'data-count'));
    assert.ok(count > 0, `float nodes: ${count}`);
    const summary = await page.textContent('#float-nodes-w8a8 summary');
    assert.match(summary, new RegExp(`^${count} nodes? runs? in float: .*Softmax`), summary);
    assert.equal(await page.$$eval('#float-nodes-w8a8 li', (l) => l.length), count);
    assert.equal(await page.textContent('#float-nodes-fp32'), '', 'fp32 runs everything in float: no note');
    await page.click('#float-nodes-w8a8 summary');
    await screenshotOf(page, '#panel-compare', 'own-model-float-nodes', { style: '.panel-nav { visibility: hidden !important; }' });
  });

  it('makes every request to 127.0.0.1 and throws no uncaught errors', () => {
    const foreign = opened.requests.filter((u) => !isLocal(u));
    assert.deepEqual(foreign, [], `requests off 127.0.0.1: ${foreign.join(', ')}`);
    assert.deepEqual(opened.pageErrors, []);
  });
});
