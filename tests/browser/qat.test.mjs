// End-to-end tests of the QAT panel of the built page (www/dist) in headless Chromium: on the
// Fashion-MNIST CNN a short QAT run (w4a4, 20 steps of 32 images; the curve and the result on
// the first 300 test images, `?qattest=300`) runs in the worker with no main-thread long task
// over 200 ms and a progress bar that moves; Cancel stops a run and the panel runs again; the
// finished run's variant (w4a4-qat) is a column of the compare panel and a variant of the
// accuracy panel; a photo model gets a note. No accuracy value of the live run is asserted (the
// model may be any Fashion-MNIST CNN): behaviour only. The table of full runs below it shows
// www/src/accuracy-table.json (`make accuracy`), read here, so the test follows a new table.
// Run from the repository root: `node --test tests/browser/qat.test.mjs`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkInputs, expectMt, openPage, repo, screenshotOf } from './harness.mjs';

const TEST_IMAGES = 300;
const READY_TIMEOUT = 180_000;
const RUN_TIMEOUT = 300_000;
const LONG_TASK_MS = 200;

checkInputs();

const panel = '#panel-qat';
const status = (page) => page.$eval(panel, (s) => s.dataset.qsStatus);

/** Waits until the panel can start (the Fashion-MNIST model is on show) or says it cannot. */
async function waitIdle(page) {
  await page.waitForFunction(() => {
    const s = document.getElementById('panel-qat');
    return ['idle', 'ready', 'unsupported', 'error'].includes(s?.dataset.qsStatus) && s.dataset.qatRunning !== 'true';
  }, null, { timeout: READY_TIMEOUT });
}

/** Waits for the run started before to end and returns the status line. */
async function waitRunEnd(page) {
  await page.waitForFunction(() => document.getElementById('panel-qat').dataset.qatRunning === 'false', null, { timeout: RUN_TIMEOUT });
  return page.textContent('#qat-status');
}

async function setSteps(page, n) {
  await page.fill('#qat-steps', String(n));
  await page.dispatchEvent('#qat-steps', 'change');
}

describe('QAT panel', { timeout: 900_000 }, () => {
  let opened;
  let page;
  let pageErrors;

  before(async () => {
    // Served with COOP/COEP when the page has its threaded build, else without (single-threaded).
    opened = await openPage({ isolation: expectMt(), hash: `?qattest=${TEST_IMAGES}#panel=qat&model=fmnist`, longTasks: true });
    ({ page, pageErrors } = opened);
  });
  after(() => opened?.close());

  it('opens on the Fashion-MNIST model with its controls', async () => {
    await waitIdle(page);
    assert.equal(await status(page), 'idle', await page.textContent('#qat-notice'));
    assert.equal(await page.inputValue('#qat-wbits'), '4');
    assert.equal(await page.inputValue('#qat-abits'), '4');
    assert.ok(!(await page.isDisabled('#qat-start')));
    assert.ok(await page.isDisabled('#qat-cancel'));
  });

  it('shows the table of full runs from make accuracy, with its figure', async () => {
    const measured = JSON.parse(readFileSync(path.join(repo, 'www/src/accuracy-table.json'), 'utf8'));
    const widths = measured.rows.map((r) => r.variant);
    assert.deepEqual(widths, ['w8a8', 'w4a8', 'w4a4', 'w2a8', 'w2a4']);
    const cells = await page.$$eval('#qat-table tbody tr', (trs) => trs.map((tr) => ({
      variant: tr.dataset.variant, cells: [...tr.children].map((c) => c.textContent),
    })));
    const pct = (x) => `${(x * 100).toFixed(2)}%`;
    const pts = (x) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(2)}`;
    assert.deepEqual(cells, measured.rows.map((r) => ({
      variant: r.variant,
      cells: [r.variant, pct(r.float), pct(r.ptq), pct(r.qat), pts(r.qat - r.ptq), pts(r.qat - r.float), `${Math.round(r.qat_seconds)} s`],
    })));
    const recipe = await page.textContent('#qat-table-recipe');
    assert.ok(recipe.includes(`${measured.recipe.qat.steps.toLocaleString('en-US')} steps of ${measured.recipe.qat.batch}`), recipe);
    assert.ok(recipe.includes(`lr ${measured.recipe.qat.lr.toExponential()}`) && recipe.includes(measured.date), recipe);
    assert.match(await page.textContent('#qat-measured'), /make accuracy/);
    // The figure: a PTQ and a QAT dot per width.
    assert.equal(await page.$$eval('#qat-table-chart svg .qat-table-ptq circle', (c) => c.length), widths.length);
    assert.equal(await page.$$eval('#qat-table-chart svg .qat-table-qat circle', (c) => c.length), widths.length);
    await screenshotOf(page, panel, 'qat-table');
  });

  it('cancel stops a run; the panel keeps working', async () => {
    await setSteps(page, 2000);
    assert.match(await page.evaluate(() => location.hash), /qatsteps=2000/);
    await page.click('#qat-start');
    // Training has started (a step reported) before the cancel.
    await page.waitForFunction(() => Number(document.getElementById('panel-qat').dataset.qatStep ?? 0) > 0, null, { timeout: RUN_TIMEOUT });
    const t0 = Date.now();
    await page.click('#qat-cancel');
    const line = await waitRunEnd(page);
    assert.ok(Date.now() - t0 < 5000, `cancel took ${Date.now() - t0} ms`);
    assert.match(line, /Cancelled after \d+ steps/);
    assert.equal(await page.$eval(panel, (s) => s.dataset.qatCancelled), '1');
    assert.ok(!(await page.isDisabled('#qat-start')));
    assert.equal(await page.$eval(panel, (s) => s.dataset.qatVariant ?? null), null, 'a cancelled run leaves no variant');
  });

  it('runs a short w4a4 QAT in the worker: the bar moves, no long task, the curve and the result', async () => {
    await setSteps(page, 20);
    const before = await page.evaluate(() => performance.now());
    // The progress bar's values while it runs (sampled by the page itself).
    await page.evaluate(() => {
      window.__qatBar = [];
      const bar = document.getElementById('qat-progress');
      window.__qatTimer = setInterval(() => bar.hidden || window.__qatBar.push(bar.value), 20);
    });
    await page.click('#qat-start');
    const line = await waitRunEnd(page);
    const bar = await page.evaluate(() => (clearInterval(window.__qatTimer), window.__qatBar));
    assert.equal(await status(page), 'ready', `${line} ${await page.textContent('#qat-error')}`);
    assert.match(line, /Done: w4a4-qat/);
    assert.ok(new Set(bar).size >= 2 && bar.at(-1) > bar[0], `the bar moved: ${bar.slice(0, 10)}…`);
    assert.equal(await page.$eval(panel, (s) => s.dataset.qatVariant), 'w4a4-qat');
    assert.match(await page.textContent('#qat-result'), new RegExp(`w4a4-qat.*\\d+\\.\\d% on ${TEST_IMAGES} test images \\(20 steps`));
    // The curve: a loss per step, checkpoints (every 2 steps), the fp32 and PTQ references.
    assert.equal(await page.$eval('#qat-curve', (f) => f.dataset.steps), '20');
    assert.ok(Number(await page.$eval('#qat-curve', (f) => f.dataset.checkpoints)) >= 5);
    assert.equal(await page.$$eval('#qat-curve svg .qat-ref line, #qat-curve svg line.qat-ref', (l) => l.length), 2);
    const long = await page.evaluate((t) => window.__longTasks?.filter((e) => e.start + e.duration > t) ?? null, before);
    assert.ok(long, 'the Long Tasks API records');
    assert.deepEqual(long.filter((e) => e.duration > LONG_TASK_MS), [], 'no main-thread task over 200 ms during the run');
    await screenshotOf(page, panel, 'qat-panel');
  });

  it('the new variant is a column of the compare panel and a variant of the accuracy panel', async () => {
    await page.evaluate(() => (location.hash = location.hash.replace(/panel=[^&]*/, 'panel=compare')));
    await page.waitForSelector('#variant-w4a4-qat', { state: 'attached' });
    await page.check('#variant-w4a4-qat');
    await page.waitForFunction(() => document.querySelectorAll('#predictions-w4a4-qat li').length > 0, null, { timeout: RUN_TIMEOUT });
    assert.match(await page.textContent('#column-w4a4-qat-title'), /after QAT/);
    await page.evaluate(() => (location.hash = location.hash.replace(/panel=[^&]*/, 'panel=accuracy')));
    await page.waitForSelector('#acc-variant-w4a4-qat', { state: 'attached' });
    for (const box of await page.$$('#panel-accuracy .acc-variants input:not([disabled])')) {
      const want = (await box.getAttribute('value')) === 'w4a4-qat';
      if ((await box.isChecked()) !== want) await box.click();
    }
    await page.click('#acc-run');
    await page.waitForFunction(() => document.getElementById('panel-accuracy').dataset.accRunning === 'false', null, { timeout: RUN_TIMEOUT });
    assert.equal(await page.$eval('#acc-bars', (f) => f.dataset.variants), 'fp32,w4a4-qat', await page.textContent('#acc-error'));
    assert.deepEqual(pageErrors, []);
  });

  it('a photo model gets a note, not a failure', async () => {
    await page.evaluate(() => (location.hash = location.hash.replace(/panel=[^&]*/, 'panel=qat')));
    await page.click('#model-builtin');
    await page.waitForFunction(() => document.getElementById('panel-qat').dataset.qsStatus === 'unsupported', null, { timeout: READY_TIMEOUT });
    assert.match(await page.textContent('#qat-notice'), /28×28 grey/);
    assert.ok(await page.isDisabled('#qat-start'));
    assert.ok(await page.isVisible('#qat-use-fmnist'));
  });
});
