// End-to-end tests of the Accuracy panel of the built page (www/dist) in headless Chromium,
// crossOriginIsolated: the Fashion-MNIST CNN on the first 500 test images (`?acclimit=500`), for
// fp32 and w8a8: bars, a confusion matrix whose cells add up to the images run, the grid of
// changed images; cancel; a corrupt data file; a model that does not read 28x28 grey pictures.
// No accuracy value is asserted (the model may be any Fashion-MNIST CNN): behaviour only.
// Run from the repository root: `node --test tests/browser/accuracy.test.mjs`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkInputs, isLocal, openPage, screenshotOf } from './harness.mjs';

const LIMIT = 500;
const READY_TIMEOUT = 180_000;
const RUN_TIMEOUT = 300_000;

checkInputs();

const panel = '#panel-accuracy';
const status = (page) => page.$eval(panel, (s) => s.dataset.qsStatus);

/** Waits until the panel can run (the Fashion-MNIST model is on show) or says it cannot. */
async function waitIdle(page) {
  await page.waitForFunction(() => {
    const s = document.getElementById('panel-accuracy');
    return ['idle', 'ready', 'unsupported', 'error'].includes(s?.dataset.qsStatus) && s.dataset.accRunning !== 'true';
  }, null, { timeout: READY_TIMEOUT });
}

/** Waits for the run started before to end (no longer running) and returns the status line. */
async function waitRunEnd(page) {
  await page.waitForFunction(() => document.getElementById('panel-accuracy').dataset.accRunning === 'false', null, { timeout: RUN_TIMEOUT });
  return page.textContent('#acc-status');
}

/** Sets the variant boxes to exactly `specs` (fp32 is always on). */
async function chooseVariants(page, specs) {
  for (const box of await page.$$('#panel-accuracy .acc-variants input:not([disabled])')) {
    const want = specs.includes(await box.getAttribute('value'));
    if ((await box.isChecked()) !== want) await box.click();
  }
}

const confusionSum = (page) => page.$$eval('#acc-confusion svg .acc-cell title', (ts) =>
  ts.reduce((sum, t) => sum + Number(/: (\d+) images?$/.exec(t.textContent)?.[1] ?? NaN), 0));

describe('accuracy panel', { timeout: 900_000 }, () => {
  let opened;
  let page;
  let requests;
  let pageErrors;

  before(async () => {
    opened = await openPage({ hash: `?acclimit=${LIMIT}#panel=accuracy&model=fmnist` });
    ({ page, requests, pageErrors } = opened);
  });
  after(() => opened?.close());

  it('opens on the Fashion-MNIST model and offers its test images as samples', async () => {
    await waitIdle(page);
    assert.equal(await status(page), 'idle', await page.textContent('#acc-notice'));
    assert.ok(await page.isChecked('#model-fmnist'), 'the picker shows the Fashion-MNIST CNN');
    assert.match(await page.textContent('#acc-status'), new RegExp(`first ${LIMIT} test images`));
    await page.waitForSelector('#fmnist-samples button.fmnist-sample', { timeout: READY_TIMEOUT });
    const samples = await page.$$eval('#fmnist-samples button', (bs) => bs.map((b) => b.dataset.name));
    assert.ok(samples.length >= 5 && samples.every((n) => /^fmnist-\d+\.png$/.test(n)), samples.join());
    // Choosing the model put the first test image on show in place of the photo, and the
    // other panels' static variants calibrate on training pictures, not photos.
    await page.waitForFunction(() => /^fmnist-\d+\.png$/.test(new URLSearchParams(location.hash.slice(1)).get('sample') ?? ''));
    await page.waitForFunction(() => /100 Fashion-MNIST training pictures/.test(document.getElementById('calib-summary')?.textContent), null, { timeout: READY_TIMEOUT });
  });

  it('runs fp32 and w8a8: bars, a confusion matrix adding up to the images, the changed images', async () => {
    await chooseVariants(page, ['w8a8']);
    assert.match(await page.evaluate(() => location.hash), /accvariants=w8a8/);
    await page.click('#acc-run');
    const line = await waitRunEnd(page);
    assert.equal(await status(page), 'ready', await page.textContent('#acc-error'));
    assert.match(line, /2 variants on 500 test images/);
    // One bar per variant, fp32 first.
    assert.equal(await page.$eval('#acc-bars', (f) => f.dataset.variants), 'fp32,w8a8');
    assert.equal(await page.$$eval('#acc-bars svg .acc-bar rect, #acc-bars svg rect.acc-bar', (r) => r.length), 2);
    assert.equal(await page.$eval('#acc-bars', (f) => f.dataset.images), String(LIMIT));
    // The confusion matrix of w8a8: 10 x 10 cells whose counts add up to the images run.
    assert.equal(await page.$eval('#acc-confusion', (f) => f.dataset.variant), 'w8a8');
    assert.equal(await page.$$eval('#acc-confusion svg .acc-cell title', (t) => t.length), 100);
    assert.equal(await confusionSum(page), LIMIT);
    // The changed images: as many as the engine reported (up to the drawn maximum), each with
    // its picture, its label and two different answers.
    const n = Number(await page.$eval('#acc-changed', (u) => u.dataset.count));
    const items = await page.$$eval('#acc-changed li', (lis) => lis.map((li) => ({ ...li.dataset, canvas: !!li.querySelector('canvas'), text: li.textContent })));
    assert.equal(items.length, Math.min(n, 60));
    for (const it of items) {
      assert.ok(it.canvas);
      assert.notEqual(it.fp32, it.variant, `image ${it.index}`);
      assert.match(it.text, /fp32: .+w8a8: /);
    }
    assert.match(await page.textContent('#acc-changed-note'), /w8a8 (changed fp32’s answer on \d+ of|gives fp32’s answer on every one of the) 500 images/);
    // fp32 drawn: the matrix follows, and the hash keeps the choice.
    await page.selectOption('#acc-show', 'fp32');
    await page.waitForFunction(() => document.getElementById('acc-confusion').dataset.variant === 'fp32');
    assert.equal(await confusionSum(page), LIMIT);
    assert.match(await page.evaluate(() => location.hash), /accshow=fp32/);
    await page.selectOption('#acc-show', 'w8a8');
    await page.waitForFunction(() => document.getElementById('acc-confusion').dataset.variant === 'w8a8');
    await screenshotOf(page, panel, 'accuracy-panel');
  });

  it('cancel stops a run, and the panel keeps working', async () => {
    await chooseVariants(page, ['w8a8', 'w4a8']);
    await page.click('#acc-run');
    // Cancel once the run has started (the w4a8 run reports progress or builds).
    await page.waitForFunction(() => /Building w4a8|Running w4a8/.test(document.getElementById('acc-status').textContent), null, { timeout: RUN_TIMEOUT });
    await page.click('#acc-cancel');
    const line = await waitRunEnd(page);
    assert.match(line, /^Cancelled/);
    assert.equal(await page.$eval(panel, (s) => s.dataset.accCancelled), '1');
    assert.equal(await page.$eval('#acc-bars', (f) => f.dataset.variants), 'fp32,w8a8', 'finished variants are kept');
    // Run again: it finishes what was left.
    await page.click('#acc-run');
    await waitRunEnd(page);
    assert.equal(await status(page), 'ready', await page.textContent('#acc-error'));
    assert.equal(await page.$eval('#acc-bars', (f) => f.dataset.variants), 'fp32,w8a8,w4a8');
    assert.equal(await confusionSum(page), LIMIT);
  });

  it('the bit-depth panel works on a Fashion-MNIST test image (8-bit grey down to 1 bit)', async () => {
    await page.click('#fmnist-samples button[data-name="fmnist-1.png"]');
    await page.waitForFunction(() => {
      const s = document.getElementById('panel-bits');
      return s.dataset.qsStatus === 'ready' && !s.hasAttribute('aria-busy')
        && document.querySelector('#bits-status')?.textContent.includes('fmnist-1.png');
    }, null, { timeout: READY_TIMEOUT });
    const keys = await page.$$eval('#bits-series li', (lis) => lis.map((li) => li.dataset.key));
    assert.equal(keys[0], 'grey8');
    assert.ok(keys.includes('bw') && keys.includes('bw-dither'), keys.join());
    const bpp = await page.$$eval('#bits-series li', (lis) => lis.map((li) => Number(li.dataset.bpp)));
    assert.equal(bpp[0], 8);
    assert.equal(Math.min(...bpp), 1);
  });

  it('the weights and bins panels work on every layer of this model', async () => {
    const settled = (name) => page.waitForFunction((n) => {
      const s = document.getElementById(`panel-${n}`);
      return ['ready', 'error'].includes(s.dataset.qsStatus) && !s.hasAttribute('aria-busy');
    }, name, { timeout: READY_TIMEOUT });
    const ready = async (name) => {
      await settled(name);
      const st = await page.$eval(`#panel-${name}`, (s) => s.dataset.qsStatus);
      if (st !== 'ready') assert.fail(`${name}: ${await page.textContent(`#panel-${name} .qsp-error`)}`);
    };
    await ready('weights');
    const layers = await page.$$eval('#weights-layer option', (os) => os.map((o) => o.value));
    assert.ok(layers.length >= 3, `layers: ${layers}`);
    for (const layer of layers) {
      const rev = await page.$eval('#panel-weights', (s) => Number(s.dataset.qsRev || 0));
      if ((await page.$eval('#weights-layer', (s) => s.value)) !== layer) {
        await page.selectOption('#weights-layer', layer);
        await page.waitForFunction((r) => Number(document.getElementById('panel-weights').dataset.qsRev || 0) > r, rev, { timeout: READY_TIMEOUT });
      }
      await ready('weights');
      assert.equal(await page.$eval('#weights-stats', (n) => n.dataset.layer), layer);
      assert.ok(await page.$('#weights-histogram svg'), `histogram of ${layer}`);
      // The bins panel follows the layer and draws its staircase.
      await page.waitForFunction((l) => document.getElementById('bins-layer').value === l, layer, { timeout: READY_TIMEOUT });
      await ready('bins');
      assert.ok(Number(await page.getAttribute('#bins-staircase', 'data-steps')) >= 2, `staircase of ${layer}`);
    }
  });

  it('asks only the page’s own origin and throws no page error', () => {
    const foreign = requests.filter((u) => !isLocal(u));
    assert.deepEqual(foreign, []);
    assert.ok(requests.some((u) => u.endsWith('/data/t10k-images-idx3-ubyte.gz')), 'the test set was fetched');
    assert.deepEqual(pageErrors, []);
  });
});

describe('accuracy panel: bad data and other models', { timeout: 600_000 }, () => {
  it('a corrupt data file gives an error naming it, and the panel stays usable', async () => {
    const opened = await openPage({ hash: `?acclimit=${LIMIT}#panel=accuracy&model=fmnist` });
    const { page, context } = opened;
    try {
      // The labels file cut short: the engine must say which file and what is wrong.
      let bad = true;
      await context.route('**/data/t10k-labels-idx1-ubyte.gz', async (route) => {
        if (!bad) return route.continue();
        const res = await route.fetch();
        const body = await res.body();
        await route.fulfill({ response: res, body: body.subarray(0, 20) });
      });
      await waitIdle(page);
      await page.click('#acc-run');
      await waitRunEnd(page);
      assert.equal(await status(page), 'error');
      const message = await page.textContent('#acc-error');
      assert.match(message, /label file/i, message);
      // The file mended: the same panel runs.
      bad = false;
      await chooseVariants(page, []);
      await page.click('#acc-run');
      await waitRunEnd(page);
      assert.equal(await status(page), 'ready', await page.textContent('#acc-error'));
      assert.equal(await page.$eval('#acc-bars', (f) => f.dataset.variants), 'fp32');
    } finally {
      await opened.close();
    }
  });

  it('on EfficientNet-Lite0 the panel says why it cannot run', async () => {
    const opened = await openPage({ hash: '#panel=accuracy' });
    const { page } = opened;
    try {
      await waitIdle(page);
      assert.equal(await status(page), 'unsupported');
      assert.match(await page.textContent('#acc-notice'), /28×28 grey.*3×224×224 colour/s);
      assert.ok(await page.isDisabled('#acc-run'));
      assert.equal(await page.isHidden('#fmnist-samples'), true);
      assert.match(await page.textContent('#calib-summary'), /sample photos/);
      // The notice's button switches the model; the panel can then run.
      await page.click('#acc-use-fmnist');
      await page.waitForFunction(() => document.getElementById('panel-accuracy').dataset.qsStatus === 'idle', null, { timeout: READY_TIMEOUT });
      assert.ok(await page.isChecked('#model-fmnist'));
      assert.equal(await page.isHidden('#acc-notice'), true);
      assert.equal(await page.isDisabled('#acc-run'), false);
      assert.match(await page.evaluate(() => location.hash), /model=fmnist/);
      await page.waitForSelector('#fmnist-samples button.fmnist-sample', { timeout: READY_TIMEOUT });
      // And back: EfficientNet-Lite0 gets the photos for calibration again.
      await page.check('#model-builtin');
      await page.waitForFunction(() => document.getElementById('panel-accuracy').dataset.qsStatus === 'unsupported', null, { timeout: READY_TIMEOUT });
      await page.waitForFunction(() => /sample photos/.test(document.getElementById('calib-summary').textContent), null, { timeout: READY_TIMEOUT });
      assert.doesNotMatch(await page.evaluate(() => location.hash), /model=/);
      // The photo model gets a photo back in place of the 28x28 test image.
      await page.waitForFunction(() => /sample=coffee\.png/.test(location.hash), null, { timeout: READY_TIMEOUT });
    } finally {
      await opened.close();
    }
  });
});
