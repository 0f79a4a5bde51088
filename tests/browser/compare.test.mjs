// The teaching page's shell, side-by-side panel and sizes panel (issue 5) in headless Chromium:
// variant columns follow the checkboxes, hash URLs restore a view, classification leaves the
// main thread free (Long Tasks API), the sizes chart has its three bars, the layout fits a
// laptop and a phone. Screenshots go to test-output/screenshots. Run from the repository root:
// `node --test tests/browser/compare.test.mjs`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { checkInputs, isLocal, launch, launchWith, openPage, samples, screenshot, screenshotOf, startServer } from './harness.mjs';

const READY_TIMEOUT = 120_000;
const CLASSIFY_TIMEOUT = 120_000;
const ALL = ['fp32', 'fp16', 'w8a8-dynamic', 'w8a8', 'w8a8-tensor'];

checkInputs();

/** Waits until every column of the compare panel shows a top-5 for the image on show. */
async function waitColumns(page) {
  await page.waitForFunction(
    () => {
      const s = document.body.dataset.state;
      if (s === 'error') return true;
      const cols = [...document.querySelectorAll('#compare-columns .column')];
      return s === 'ready' && cols.length > 0 && cols.every((c) =>
        c.querySelectorAll('.predictions li .label').length === 5 && !c.querySelector('.predictions[aria-busy]'));
    },
    null,
    { timeout: CLASSIFY_TIMEOUT },
  );
  const state = await page.evaluate(() => document.body.dataset.state);
  if (state === 'error') assert.fail(`classification failed: ${await page.textContent('#error')}`);
}

const columnNames = (page) => page.$$eval('#compare-columns .column', (els) => els.map((e) => e.dataset.variant));
const top1 = (page, variant) =>
  page.$eval(`#compare-columns .column[data-variant="${variant}"] .predictions li .label`, (e) => e.textContent.trim());

describe('teaching page: side by side and sizes', { timeout: 600_000 }, () => {
  let opened;
  let context;
  let page;
  let requests;
  let pageErrors;

  before(async () => {
    opened = await openPage({ longTasks: true });
    ({ context, page, requests, pageErrors } = opened);
    await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null,
      { timeout: READY_TIMEOUT });
  });

  after(() => opened?.close());

  it('shows all five variants by default with espresso on top for coffee.png', async () => {
    await waitColumns(page);
    assert.deepEqual(await columnNames(page), ALL);
    assert.equal(await page.getAttribute('#preview', 'alt'), 'Sample: coffee.png');
    assert.equal(await top1(page, 'fp32'), 'espresso');
    assert.equal(await top1(page, 'w8a8'), 'espresso');
    for (const v of ALL.slice(1)) {
      const text = await page.textContent(`#compare-columns .column[data-variant="${v}"] .agreement`);
      assert.match(text, /top-1 as fp32 · [0-5] of 5 shared · KL \d/, `${v}: ${text}`);
    }
    assert.match(await page.textContent('#latency-int8'), /^\d+\.\d ms$/);
  });

  it('keeps the main thread free while classifying (no long task over 200 ms)', async () => {
    const supported = await page.evaluate(() => Array.isArray(globalThis.__longTasks));
    assert.ok(supported, 'the Long Tasks API is not available');
    const start = await page.evaluate(() => performance.now());
    await page.click('button.sample[data-name="grace_hopper.jpg"]');
    // The click is taken once the preview shows the photo (the state may still read 'ready'
    // from the last image until then, on a loaded machine).
    await page.waitForFunction(() => document.querySelector('#preview').alt === 'Sample: grace_hopper.jpg');
    await waitColumns(page);
    const tasks = await page.evaluate((t0) => globalThis.__longTasks.filter((t) => t.start >= t0), start);
    const worst = Math.max(0, ...tasks.map((t) => t.duration));
    assert.ok(worst <= 200, `long tasks during classification: ${JSON.stringify(tasks)}`);
  });

  it('takes an image dropped anywhere or pasted', async () => {
    const send = (type, name) => page.evaluate(async ([type, name]) => {
      const blob = await (await fetch(`./samples/${name}`)).blob();
      const data = new DataTransfer();
      data.items.add(new File([blob], `my-${name}`, { type: blob.type }));
      const event = type === 'paste'
        ? new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true })
        : new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true });
      document.querySelector('#panel-sizes').dispatchEvent(event);
    }, [type, name]);
    await send('drop', 'chelsea.png');
    await page.waitForFunction(() => document.querySelector('#preview').alt === 'Your image: my-chelsea.png');
    await waitColumns(page);
    assert.match(await top1(page, 'fp32'), /cat/);
    await send('paste', 'coffee.png');
    await page.waitForFunction(() => document.querySelector('#preview').alt === 'Your image: my-coffee.png');
    await waitColumns(page);
    assert.equal(await top1(page, 'fp32'), 'espresso');
    await page.click('button.sample[data-name="grace_hopper.jpg"]');
    await page.waitForFunction(() => document.querySelector('#preview').alt === 'Sample: grace_hopper.jpg');
    await waitColumns(page);
  });

  it('removes a column when a variant is unticked and adds it back when ticked', async () => {
    // From the keyboard: Space on the focused checkbox.
    await page.focus('#variant-fp16');
    await page.keyboard.press('Space');
    await page.waitForFunction(() => !document.querySelector('#compare-columns .column[data-variant="fp16"]'));
    assert.deepEqual(await columnNames(page), ALL.filter((v) => v !== 'fp16'));
    assert.match(await page.evaluate(() => location.hash), /variants=fp32,w8a8-dynamic,w8a8,w8a8-tensor/);
    await page.uncheck('#variant-w8a8-dynamic');
    assert.deepEqual(await columnNames(page), ['fp32', 'w8a8', 'w8a8-tensor']);

    await page.check('#variant-fp16');
    await waitColumns(page);
    assert.deepEqual(await columnNames(page), ['fp32', 'fp16', 'w8a8', 'w8a8-tensor']);
    await page.check('#variant-w8a8-dynamic');
    await waitColumns(page);
    assert.deepEqual(await columnNames(page), ALL);
    assert.doesNotMatch(await page.evaluate(() => location.hash), /variants=/, 'all variants: no key in the hash');
  });

  it('recalibrates the static variants with another observer', async () => {
    await page.selectOption('#observer', 'percentile');
    await page.waitForFunction(() => location.hash.includes('observer=percentile'));
    await page.waitForFunction(() => /observer: percentile/.test(document.querySelector('#calib-label').textContent),
      null, { timeout: CLASSIFY_TIMEOUT });
    await waitColumns(page);
    const label = await page.textContent('#calib-label');
    assert.match(label, /Calibrated on 7 images \(observer: percentile\)/);
    await page.selectOption('#observer', 'minmax');
    await waitColumns(page);
  });

  it('adds the visitor’s images to the calibration set, and survives a broken one', async () => {
    await page.setInputFiles('#calib-files', path.join(samples, 'coffee.png'));
    assert.match(await page.textContent('#calib-summary'), /7 sample photos \+ 1 of yours \(coffee\.png\).*Recalibrate/);
    await page.click('#recalibrate');
    await page.waitForFunction(() => /Calibrated on 8 images/.test(document.querySelector('#calib-label').textContent),
      null, { timeout: CLASSIFY_TIMEOUT });
    await waitColumns(page);

    await page.setInputFiles('#calib-files', {
      name: 'broken.png',
      mimeType: 'image/png',
      buffer: Buffer.from('not a PNG at all'),
    });
    await page.click('#recalibrate');
    try {
      await page.waitForFunction(() => /failed/.test(document.querySelector('#calib-label').textContent), null,
        { timeout: CLASSIFY_TIMEOUT });
      await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: CLASSIFY_TIMEOUT });
      const status = await page.textContent('#compare-columns .column[data-variant="w8a8"] .column-status');
      assert.match(status, /Calibration failed: .*\S/);
      const fp32 = await page.$$eval('#compare-columns .column[data-variant="fp32"] .predictions li', (l) => l.length);
      assert.equal(fp32, 5, 'fp32 still classifies the image');
      assert.equal(await page.isEnabled('#calib-reset'), true);
    } finally {
      await page.click('#calib-reset');
    }
    await waitColumns(page);
    assert.match(await page.textContent('#calib-summary'), /^Calibration set: 7 sample photos$/);
    assert.equal(await page.textContent('#compare-columns .column[data-variant="w8a8"] .column-status'), '');
  });

  it('adds any spec as a column (w4a8 sees its top-5) and shows the grammar for a bad one', async () => {
    await page.fill('#variant-spec', 'W4A8');
    await page.click('#variant-add-button');
    await page.waitForFunction(() => document.querySelector('#compare-columns .column[data-variant="w4a8"]'));
    assert.match(await page.evaluate(() => location.hash), /variants=fp32,fp16,w8a8-dynamic,w8a8,w8a8-tensor,w4a8/);
    await waitColumns(page);
    const w4 = await page.$$eval('#compare-columns .column[data-variant="w4a8"] .predictions li .label', (l) => l.map((e) => e.textContent));
    assert.equal(w4.length, 5, `w4a8 top-5: ${w4}`);
    assert.ok(await page.isChecked('#variant-w4a8'));
    assert.match(await page.textContent('#compare-columns .column[data-variant="w4a8"] .agreement'), /top-1 as fp32/);
    assert.equal(await page.isVisible('#variant-spec-error'), false);

    await page.fill('#variant-spec', 'w9a8-zip');
    await page.click('#variant-add-button');
    await page.waitForSelector('#variant-spec-error:not([hidden])');
    const error = await page.textContent('#variant-spec-error');
    assert.match(error, /bad variant 'w9a8-zip'/);
    assert.match(error, /w<2\.\.8>a<4\.\.8>.*-kmeans.*-pow2.*-tensor/, error);
    assert.equal(await page.$$('#compare-columns .column[data-variant="w9a8-zip"]').then((l) => l.length), 0);

    // A static column offers its ONNX QDQ export: a file, or the engine's reason in the column.
    const column = '#compare-columns .column[data-variant="w4a8"]';
    const download = page.waitForEvent('download', { timeout: CLASSIFY_TIMEOUT }).catch(() => null);
    await page.click(`${column} button.export-onnx`);
    await page.waitForFunction((c) => !/^(Exporting…)?$/.test(document.querySelector(`${c} .export-status`).textContent),
      column, { timeout: CLASSIFY_TIMEOUT });
    const status = await page.textContent(`${column} .export-status`);
    if (/^Export failed: \S/.test(status)) {
      assert.ok(await page.$(`${column} .export-status.error`), status);
    } else {
      assert.match(status, /^Saved efficientnet-lite0-w4a8\.onnx/);
      assert.equal((await download)?.suggestedFilename(), 'efficientnet-lite0-w4a8.onnx');
    }
    assert.equal(await page.$$eval('#compare-columns .column[data-variant="fp32"] button.export-onnx', (b) => b.length), 0);

    await page.uncheck('#variant-w4a8');
    await waitColumns(page);
    assert.deepEqual(await columnNames(page), ALL);
    assert.doesNotMatch(await page.evaluate(() => location.hash), /variants=/);
  });

  it('shows the bytes of each variant as stored, and one trade-off point per column', async () => {
    await page.waitForSelector('#sizes-table tbody tr[data-variant="w2a8-pow2"]', { timeout: CLASSIFY_TIMEOUT });
    const sizes = await page.$$eval('#sizes-table tbody tr', (rows) =>
      rows.map((r) => [r.dataset.variant, Number(r.dataset.rawBytes), Number(r.dataset.deflateBytes)]));
    const names = sizes.map((s) => s[0]);
    for (const n of ['fp32', 'fp16', 'w8a8', 'w8a8-tensor', 'w4a8', 'w4a8-kmeans', 'w2a8', 'w2a8-pow2', 'w8a8-dynamic']) {
      assert.ok(names.includes(n), `${n} in ${names}`);
    }
    const raw = Object.fromEntries(sizes.map(([n, r]) => [n, r]));
    assert.ok(raw.fp32 > raw.fp16 && raw.fp16 > raw.w8a8 && raw.w8a8 > raw.w4a8 && raw.w4a8 > raw.w2a8,
      `raw bytes: ${JSON.stringify(raw)}`);
    assert.ok(raw['w4a8-kmeans'] > raw.w4a8, 'a codebook per channel costs bytes');
    assert.ok(sizes.every(([, r, deflate]) => deflate > 0 && deflate <= r), 'deflate sizes');
    assert.equal(await page.$$eval('#sizes-chart g.raw-bars rect', (r) => r.length), sizes.length);
    assert.equal(await page.$$eval('#sizes-chart g.deflate-bars rect', (r) => r.length), sizes.length);
    const bars = await page.$$eval('#sizes-chart g.raw-bars rect', (r) => r.map((e) => Number(e.getAttribute('width'))));
    assert.ok(bars[0] > bars[1] && bars[1] > bars[2], `bar widths: ${bars}`);
    await page.waitForFunction((n) => document.querySelectorAll('#tradeoff-chart g.tradeoff-dots path').length === n,
      ALL.length);
    await page.uncheck('#variant-fp16');
    await waitColumns(page);
    await page.waitForFunction(() => document.querySelectorAll('#tradeoff-chart g.tradeoff-dots path').length === 4);
    await page.check('#variant-fp16');
    await waitColumns(page);
  });

  for (const [label, viewport] of [['1280x800', { width: 1280, height: 800 }], ['390x844', { width: 390, height: 844 }]]) {
    it(`fits ${label} without horizontal scrolling; screenshots of the panels`, async () => {
      await page.setViewportSize(viewport);
      await page.waitForTimeout(300); // charts redraw at the new width on the next frame
      await waitColumns(page);
      const [scrollWidth, innerWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
      await screenshot(page, `page-${label}`);
      // The sticky nav would cover the top of the panel in an element shot.
      const style = '.panel-nav { position: static !important; }';
      await screenshotOf(page, '#panel-compare', `compare-${label}`, { style });
      await screenshotOf(page, '#panel-sizes', `sizes-${label}`, { style });
      assert.ok(scrollWidth <= innerWidth, `scrollWidth ${scrollWidth} > innerWidth ${innerWidth}`);
    });
  }

  it('restores a linked view from the hash', async () => {
    const linked = await context.newPage();
    linked.on('pageerror', (e) => pageErrors.push(e.message));
    await linked.goto(`${opened.server.url}#panel=compare&variants=fp32,int8-static&sample=chelsea.png`);
    await linked.waitForFunction(() => document.body.dataset.state !== 'loading', null, { timeout: READY_TIMEOUT });
    await waitColumns(linked);
    // Old names are aliases of specs.
    assert.deepEqual(await columnNames(linked), ['fp32', 'w8a8']);
    const checked = await linked.$$eval('.variant-picker input:checked', (els) => els.map((e) => e.value));
    assert.deepEqual(checked, ['fp32', 'w8a8']);
    assert.equal(await linked.getAttribute('#preview', 'alt'), 'Sample: chelsea.png');
    assert.equal(await linked.getAttribute('button.sample[data-name="chelsea.png"]', 'aria-pressed'), 'true');
    const fp32 = await top1(linked, 'fp32');
    assert.match(fp32, /cat/, `chelsea.png is a cat, fp32 says ${fp32}`);
    assert.equal(await linked.getAttribute('.panel-nav a[data-panel="compare"]', 'aria-current'), 'true');
    const top = await linked.$eval('#panel-compare', (e) => e.getBoundingClientRect().top);
    assert.ok(top >= 0 && top < 120, `the compare panel is scrolled into view (top ${top})`);
    assert.equal(await linked.evaluate(() => document.activeElement?.id), 'compare-heading');
    await linked.close();
  });

  it('rebuilds the quantized columns (calibrated and from saved ranges) after the engine worker dies', async () => {
    const linked = await context.newPage();
    linked.on('pageerror', (e) => pageErrors.push(e.message));
    await linked.goto(`${opened.server.url}#variants=fp32,w8a8,w8a8-tensor,w2a8-pow2&sample=coffee.png`);
    await linked.waitForFunction(() => document.body.dataset.state !== 'loading', null, { timeout: READY_TIMEOUT });
    await waitColumns(linked);
    const engine = linked.workers().find((w) => /\/worker-[^/]*\.js$/.test(w.url()));
    assert.ok(engine, `the engine worker among ${linked.workers().map((w) => w.url()).join(', ')}`);
    const closed = engine.waitForEvent('close');
    // An uncaught error kills the worker: the wrapper starts a new one and replays how each
    // model was built (load, quantize with the kept images, withRanges with the kept ranges).
    await engine.evaluate(() => setTimeout(() => { throw new Error('simulated engine crash'); }));
    await closed;
    await linked.click('button.sample[data-name="chelsea.png"]');
    await linked.waitForFunction(() => document.querySelector('#preview')?.alt === 'Sample: chelsea.png');
    await waitColumns(linked);
    const fp32 = await top1(linked, 'fp32');
    assert.match(fp32, /cat/, `chelsea.png is a cat, fp32 says ${fp32}`);
    assert.equal(await top1(linked, 'w8a8'), fp32);
    assert.match(await top1(linked, 'w8a8-tensor'), /cat/);
    assert.equal(await linked.$$eval('#compare-columns .column[data-variant="w2a8-pow2"] .predictions li', (l) => l.length), 5);
    assert.equal(await linked.isVisible('#error'), false, `#error: ${await linked.textContent('#error')}`);
    await linked.close();
  });

  it('makes every request to 127.0.0.1 and throws no uncaught errors', () => {
    const foreign = requests.filter((u) => !isLocal(u));
    assert.deepEqual(foreign, [], `requests off 127.0.0.1: ${foreign.join(', ')}`);
    assert.deepEqual(pageErrors, []);
  });
});

describe('teaching page: webcam snapshot', { timeout: 300_000 }, () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer({ isolation: true });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('is disabled with a message when there is no camera', async () => {
    browser = await launch();
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => document.querySelector('#webcam-note').textContent !== '' ||
      document.body.dataset.state === 'ready', null, { timeout: READY_TIMEOUT });
    // Headless Chromium has no camera: the button must say why it cannot be used.
    const devices = await page.evaluate(async () =>
      (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput').length);
    if (devices === 0) {
      await page.waitForFunction(() => document.querySelector('#webcam-button').disabled);
      assert.match(await page.textContent('#webcam-note'), /camera/i);
    }
    await browser.close();
    browser = null;
  });

  it('classifies a snapshot of a (fake) camera', async () => {
    browser = await launchWith(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ['camera'] });
    const page = await context.newPage();
    await page.goto(`${server.url}#variants=fp32,w8a8`);
    await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: READY_TIMEOUT });
    await waitColumns(page);
    await page.waitForFunction(() => !document.querySelector('#webcam-button').disabled);
    await page.click('#webcam-button');
    await page.waitForFunction(() => document.querySelector('#webcam-video').videoWidth > 0, null, { timeout: 30_000 });
    await page.click('#webcam-snap');
    await page.waitForFunction(() => document.querySelector('#preview').alt === 'Your image: webcam.png');
    await waitColumns(page);
    assert.equal(await page.isVisible('#webcam-box'), false, 'the camera is closed after the snapshot');
    assert.equal(await page.$$eval('#predictions li', (l) => l.length), 5);
    assert.doesNotMatch(await page.evaluate(() => location.hash), /sample=/, 'a snapshot is not a sample');
  });
});
