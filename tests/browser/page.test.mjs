// End-to-end tests of the built quantscope page (www/dist) in headless Chromium, served by
// scripts/serve.mjs with COOP/COEP (crossOriginIsolated) and without. Run from the repository
// root: `node --test tests/browser/`. See harness.mjs for the environment variables.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { checkInputs, expectMt, isLocal, launch, samples, screenshot, startServer } from './harness.mjs';

const READY_TIMEOUT = 120_000;
const CLASSIFY_TIMEOUT = 60_000;

checkInputs();
const mt = expectMt();

for (const isolation of [true, false]) {
  const mode = isolation ? 'isolated' : 'not-isolated';
  describe(`page served ${isolation ? 'with' : 'without'} COOP/COEP`, { timeout: 300_000 }, () => {
    let server;
    let browser;
    let page;
    const requests = [];
    const pageErrors = [];

    before(async () => {
      server = await startServer({ isolation });
      browser = await launch();
      const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
      page = await context.newPage();
      page.on('request', (r) => requests.push(r.url()));
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await page.goto(server.url);
    });

    after(async () => {
      await browser?.close();
      await server?.close();
    });

    it('reaches data-state=ready', async () => {
      await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null,
        { timeout: READY_TIMEOUT });
      const state = await page.evaluate(() => document.body.dataset.state);
      const error = await page.textContent('#error');
      await screenshot(page, `${mode}-ready`);
      assert.equal(state, 'ready', `page state is ${state}; #error says: ${error}`);
      assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), isolation);
    });

    it(`shows the relaxed-SIMD ${isolation && mt ? 'threaded (mt-relaxed)' : 'single-threaded (st-relaxed)'} build`, async () => {
      const build = await page.getAttribute('#build', 'data-build');
      const threads = Number(await page.getAttribute('#build', 'data-threads'));
      const title = await page.getAttribute('#build', 'title');
      if (isolation && mt) {
        // Chromium validates relaxed-SIMD modules, so the package picks those builds.
        assert.equal(build, 'mt-relaxed', `expected the threaded relaxed-SIMD build (title: ${title})`);
        assert.ok(threads > 1, `threads = ${threads}`);
      } else {
        assert.equal(build, 'st-relaxed', `title: ${title}`);
        assert.equal(threads, 1);
      }
    });

    it('classifies samples/coffee.png as espresso', async () => {
      await page.setInputFiles('#file-input', path.join(samples, 'coffee.png'));
      await waitClassified(page);
      const labels = await page.$$eval('#predictions li .label', (els) => els.map((e) => e.textContent.trim()));
      await screenshot(page, `${mode}-coffee`);
      assert.equal(labels.length, 5, `labels: ${labels}`);
      assert.equal(labels[0], 'espresso');
    });

    it('calibrates the int8 twin on the samples and shows it beside fp32', async () => {
      await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.int8), null,
        { timeout: READY_TIMEOUT });
      assert.equal(await page.evaluate(() => document.body.dataset.int8), 'ready', await page.textContent('#error'));
      // One bar per calibration round (per channel, then per tensor): it ends full, 7 of 7 images.
      await page.waitForFunction(() => {
        const p = document.querySelector('#calib-progress');
        return p.max === 7 && p.value === 7;
      }, null, { timeout: READY_TIMEOUT });
      await page.setInputFiles('#file-input', path.join(samples, 'coffee.png'));
      await waitClassified(page);
      const int8 = await page.$$eval('#predictions-int8 li .label', (els) => els.map((e) => e.textContent.trim()));
      await screenshot(page, `${mode}-int8`);
      assert.equal(int8.length, 5, `int8 labels: ${int8}`);
      assert.equal(int8[0], 'espresso');
      assert.match(await page.textContent('#agreement'), /Same top-1/);
      assert.match(await page.textContent('#weights-int8'), /MB/);
    });

    it('reports a corrupt file readably, then classifies a good one', async () => {
      await page.setInputFiles('#file-input', {
        name: 'corrupt.png',
        mimeType: 'image/png',
        buffer: Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.from('this is not a PNG')]),
      });
      await page.waitForFunction(() => document.body.dataset.state === 'error', null, { timeout: CLASSIFY_TIMEOUT });
      const visible = await page.isVisible('#error');
      const message = (await page.textContent('#error')).trim();
      await screenshot(page, `${mode}-corrupt`);
      assert.ok(visible, '#error is hidden');
      assert.ok(message.length >= 10, `#error is too short: "${message}"`);
      assert.doesNotMatch(message, /\[object |undefined|RuntimeError|unreachable/, `#error: "${message}"`);
      assert.match(message, /corrupt\.png/, `the message names the file: "${message}"`);
      assert.equal(await page.$$eval('#predictions li', (els) => els.length), 0, 'stale predictions shown');

      await page.setInputFiles('#file-input', path.join(samples, 'coffee.png'));
      await waitClassified(page);
      assert.equal(await page.isVisible('#error'), false, '#error still shown after a good file');
      const first = (await page.textContent('#predictions li .label')).trim();
      await screenshot(page, `${mode}-recovered`);
      assert.equal(first, 'espresso');
    });

    it('makes every request to 127.0.0.1 and throws no uncaught errors', () => {
      assert.ok(requests.length > 0, 'no requests recorded');
      const foreign = requests.filter((u) => !isLocal(u));
      assert.deepEqual(foreign, [], `requests off 127.0.0.1: ${foreign.join(', ')}`);
      assert.deepEqual(pageErrors, []);
    });
  });
}

/** Waits until the page shows predictions for the latest image (or fails with #error). */
async function waitClassified(page) {
  await page.waitForFunction(
    () => {
      const s = document.body.dataset.state;
      if (s === 'error') return true;
      return s === 'ready' && document.querySelectorAll('#predictions li .label').length > 0
        && !document.querySelector('#predictions')?.hasAttribute('aria-busy')
        && !document.querySelector('#predictions-int8')?.hasAttribute('aria-busy');
    },
    null,
    { timeout: CLASSIFY_TIMEOUT },
  );
  const state = await page.evaluate(() => document.body.dataset.state);
  if (state === 'error') assert.fail(`classification failed: ${await page.textContent('#error')}`);
}
