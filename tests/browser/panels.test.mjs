// End-to-end tests of the weights, bins and bits panels of the built page (www/dist) in headless
// Chromium, crossOriginIsolated. Every expected number is read back from what the engine put on
// the page (data-* attributes the panels write beside the text), never hard-coded.
// Run from the repository root: `node --test tests/browser/panels.test.mjs`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkInputs, isLocal, openPage, screenshot, screenshotOf } from './harness.mjs';

const READY_TIMEOUT = 180_000; // model load, plus whatever the other panels queue in the worker first
const STEP_TIMEOUT = 60_000;

checkInputs();

/** The render counter a panel bumps after each engine reply. */
const rev = (page, name) => page.$eval(`#panel-${name}`, (s) => Number(s.dataset.qsRev || 0));

/** Waits for panel `name` to render after `before` (a rev), and fails on its error line. */
async function waitRender(page, name, before = 0) {
  await page.waitForFunction(([n, r]) => {
    const s = document.getElementById(`panel-${n}`);
    return Number(s.dataset.qsRev || 0) > r && !s.hasAttribute('aria-busy');
  }, [name, before], { timeout: STEP_TIMEOUT });
  const status = await page.$eval(`#panel-${name}`, (s) => s.dataset.qsStatus);
  if (status !== 'ready') assert.fail(`${name}: ${await page.textContent(`#panel-${name} .qsp-error`)}`);
}

/** Waits until a panel first reaches ready (or error) after the model loaded. */
async function waitReady(page, name) {
  await page.waitForFunction((n) => {
    const s = document.getElementById(`panel-${n}`);
    return ['ready', 'error'].includes(s?.dataset.qsStatus) && !s.hasAttribute('aria-busy');
  }, name, { timeout: READY_TIMEOUT });
  const status = await page.$eval(`#panel-${name}`, (s) => s.dataset.qsStatus);
  if (status !== 'ready') assert.fail(`${name}: ${await page.textContent(`#panel-${name} .qsp-error`)}`);
}

/** Moves a range input the way a visitor does (input events), then waits for the re-render. */
async function slide(page, selector, value, panel) {
  const r = await rev(page, panel);
  const changed = await page.$eval(selector, (input, v) => {
    if (input.value === String(v)) return false;
    input.value = String(v);
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
    return true;
  }, value);
  if (changed) await waitRender(page, panel, r);
}

/** Selects an option or checks a radio, waiting for the re-render only if something changed. */
async function choose(page, selector, panel, value) {
  const r = await rev(page, panel);
  const before = await page.$eval(selector, (e) => (e.type === 'radio' ? e.checked : e.value));
  if (value == null) await page.check(selector);
  else await page.selectOption(selector, value);
  const now = await page.$eval(selector, (e) => (e.type === 'radio' ? e.checked : e.value));
  if (now !== before) await waitRender(page, panel, r);
}

const levelCount = (page) => page.$$eval('#weights-histogram svg .qsp-levels line', (l) => l.length);
const stats = (page) => page.$eval('#weights-stats', (n) => ({ ...n.dataset, text: n.textContent }));
const readout = (page) => page.$eval('#bins-readout', (n) => ({ ...n.dataset, text: n.textContent }));

describe('weights, bins and bits panels', { timeout: 600_000 }, () => {
  let opened;
  let context;
  let page;
  let requests;
  let pageErrors;
  let longTasks = null; // main-thread long tasks while the panels answered their controls

  before(async () => {
    // Long tasks on the main thread, for the check that the work stays in the worker.
    opened = await openPage({ hash: '#sample=coffee.png', longTasks: true });
    ({ context, page, requests, pageErrors } = opened);
  });

  after(() => opened?.close());

  it('weights: lists every Conv/Gemm layer and draws 2^8 - 1 levels at 8 bits', async () => {
    await waitReady(page, 'weights');
    await page.evaluate(() => window.__longTasks && (window.__longTasks = [])); // from here on: the panels' own work
    const options = await page.$$eval('#weights-layer option', (os) => os.map((o) => o.textContent));
    assert.ok(options.length > 10, `layers: ${options.length}`);
    for (const o of options) assert.match(o, /^\S+ · (Conv|Gemm|depthwise) \d+(×\d+)* · [\d,]+ params$/, o);
    const s = await stats(page);
    assert.equal(s.bits, '8');
    assert.equal(await levelCount(page), 2 ** 8 - 1);
    assert.equal(s.spec, 'w8a8');
    assert.match(s.text, /w8a8: what the engine executes/);
    assert.ok(await page.$('#weights-channels svg'), 'per-channel range plot');
    assert.ok(await page.$('#weights-error svg'), 'error histogram');
  });

  it('weights: the layer picker changes the histogram', async () => {
    const bars = () => page.$$eval('#weights-histogram svg rect', (rs) => rs.map((r) => r.getAttribute('height')).join(','));
    const before = { layer: (await stats(page)).layer, bars: await bars(), caption: await page.textContent('#weights-histogram figcaption') };
    const values = await page.$$eval('#weights-layer option', (os) => os.map((o) => o.value));
    const other = values.find((v) => v !== before.layer && /depthwise/.test(v)) ?? values[1];
    await choose(page, '#weights-layer', 'weights', other);
    const s = await stats(page);
    assert.equal(s.layer, other);
    assert.notEqual(await bars(), before.bars, 'the bars did not change');
    assert.notEqual(await page.textContent('#weights-histogram figcaption'), before.caption);
    assert.match(await page.evaluate(() => location.hash), new RegExp(`layer=${other.replace(/\./g, '\\.')}`));
  });

  it('weights: the bits slider changes the number of level rules (2^b - 1)', async () => {
    for (const bits of [2, 4, 6, 8]) {
      await slide(page, '#weights-bits', bits, 'weights');
      assert.equal(await levelCount(page), 2 ** bits - 1, `at ${bits} bits`);
      const s = await stats(page);
      assert.equal(s.bits, String(bits));
      assert.equal(s.spec, `w${bits}a8`);
      assert.doesNotMatch(s.text, /simulated/, 'every width runs in the engine');
      assert.match(s.text, new RegExp(`w${bits}a8: what the engine executes`));
    }
    // Keyboard: the slider is a native input, so arrow keys work and redraw the levels.
    await page.focus('#weights-bits');
    const r = await rev(page, 'weights');
    await page.keyboard.press('ArrowLeft');
    await waitRender(page, 'weights', r);
    assert.equal(await levelCount(page), 2 ** 7 - 1, 'ArrowLeft from 8 bits');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'weights-bits');
  });

  it('weights: per tensor on a depthwise layer gives a lower SQNR than per channel', async () => {
    const dw = await page.$$eval('#weights-layer option', (os) => os.map((o) => o.value).filter((v) => /depthwise/.test(v)));
    assert.ok(dw.length > 0, 'no depthwise layer listed');
    await choose(page, '#weights-layer', 'weights', dw[0]);
    await choose(page, '#weights-gran-channel', 'weights');
    const channel = Number((await stats(page)).sqnr);
    await choose(page, '#weights-gran-tensor', 'weights');
    const s = await stats(page);
    assert.equal(s.gran, 'tensor');
    assert.ok(Number(s.sqnr) < channel, `${dw[0]}: per tensor ${s.sqnr} dB, per channel ${channel} dB`);
    assert.equal(Number(s.otherSqnr), channel, 'the comparison shows the per-channel SQNR');
    assert.match(await page.evaluate(() => location.hash), /gran=tensor/);
    await choose(page, '#weights-gran-channel', 'weights');
  });

  it('weights: k-means and powers of two draw their real levels', async () => {
    const pw = await page.$$eval('#weights-layer option', (os) => os.map((o) => o.value).filter((v) => /project|expand|pw|conv_pw|\.1\.conv/.test(v) && !/depthwise/.test(v)));
    const layer = pw[0] ?? (await page.$eval('#weights-layer', (s) => s.value));
    await choose(page, '#weights-layer', 'weights', layer);
    await slide(page, '#weights-bits', 4, 'weights');
    const uniform = await stats(page);
    assert.equal(uniform.levelsKind, 'uniform');
    await choose(page, '#weights-levels-kmeans', 'weights');
    const km = await stats(page);
    assert.equal(km.levelsKind, 'kmeans');
    assert.equal(km.spec, 'w4a8-kmeans');
    const rules = await levelCount(page);
    assert.equal(rules, Number(km.levels));
    assert.ok(rules >= 2 && rules <= 16, `${rules} k-means levels at 4 bits`);
    // The rules sit at the engine's levels: not evenly spaced.
    const xs = await page.$$eval('#weights-histogram svg .qsp-levels line', (l) => l.map((e) => Number(e.getAttribute('x1') ?? e.getAttribute('x'))).sort((a, b) => a - b));
    const gaps = xs.slice(1).map((x, i) => x - xs[i]).filter((g) => g > 0);
    assert.ok(Math.max(...gaps) > 1.5 * Math.min(...gaps), `k-means gaps ${gaps}`);
    assert.ok(Number(km.sqnr) > Number(uniform.sqnr), `k-means ${km.sqnr} dB vs uniform ${uniform.sqnr} dB`);
    assert.ok(Number(km.clusteringSqnr) > 0 && Number(km.codebookSqnr) > Number(km.clusteringSqnr), JSON.stringify(km));
    assert.match(km.text, /clustering .* dB, codebook rounded to int8 .* dB/);
    assert.match(await page.textContent('#weights-histogram figcaption'), /crowd where the weights are/);
    assert.match(await page.evaluate(() => location.hash), /levels=kmeans/);
    // 1 bit exists for codebooks.
    await slide(page, '#weights-bits', 1, 'weights');
    assert.equal((await stats(page)).spec, 'w1a8-kmeans');
    assert.ok(await levelCount(page) <= 2);
    await choose(page, '#weights-levels-pow2', 'weights');
    const p2 = await stats(page);
    assert.equal(p2.levelsKind, 'pow2');
    assert.equal(p2.spec, 'w2a8-pow2', 'powers of two start at 2 bits');
    assert.ok(await levelCount(page) <= 4);
    await slide(page, '#weights-bits', 3, 'weights');
    assert.ok(await levelCount(page) <= 8);
    // The bins panel follows: its staircase has the codebook's uneven steps.
    await page.waitForFunction(() => document.querySelector('#bins-readout')?.dataset.spec === 'w3a8-pow2', null, { timeout: STEP_TIMEOUT });
    assert.doesNotMatch(await page.textContent('#panel-bins'), /simulated/);
    await choose(page, '#weights-levels-uniform', 'weights');
    assert.equal((await stats(page)).spec, 'w3a8');
    assert.doesNotMatch(await page.evaluate(() => location.hash), /levels=/);
  });

  it('bins: follows the shared layer and the bit slider changes the number of steps', async () => {
    await waitReady(page, 'bins');
    const layer = await page.$eval('#weights-layer', (s) => s.value);
    await page.waitForFunction((l) => document.getElementById('bins-layer').value === l, layer);
    const steps = {};
    for (const bits of [3, 6]) {
      await slide(page, '#bins-bits', bits, 'bins');
      const edges = await page.$$eval('#bins-staircase svg .qsp-edges line', (l) => l.length);
      steps[bits] = Number(await page.getAttribute('#bins-staircase', 'data-steps'));
      assert.ok(steps[bits] >= 2 && steps[bits] <= 2 ** bits - 1, `${steps[bits]} steps at ${bits} bits`);
      assert.ok(edges >= steps[bits] - 1 && edges <= 2 ** bits - 2, `${edges} thresholds at ${bits} bits`);
      assert.doesNotMatch((await readout(page)).text, /simulated/);
      assert.match((await readout(page)).text, new RegExp(`w${bits}a8: what the engine executes`));
    }
    assert.ok(steps[6] > steps[3], `steps: ${JSON.stringify(steps)}`);
    await slide(page, '#bins-bits', 4, 'bins');
    assert.doesNotMatch(await page.textContent('#panel-bins'), /simulated/, 'no "simulated" at 4 bits');
    assert.doesNotMatch(await page.textContent('body'), /simulated/i);
    await slide(page, '#bins-bits', 6, 'bins');
    // The weights panel follows the shared bit width.
    assert.equal(await page.$eval('#weights-bits', (i) => i.value), '6');
  });

  it('bins: the value slider updates code and error as the grid says', async () => {
    const seen = new Set();
    let sawClipped = false;
    for (const pos of [0, 180, 500, 820, 1000]) {
      await slide(page, '#bins-value', pos, 'bins');
      const d = await readout(page);
      const [v, S, Z, qmin, qmax] = [d.value, d.scale, d.zeroPoint, d.qmin, d.qmax].map(Number);
      const code = Math.min(qmax, Math.max(qmin, Math.round(v / S) + Z));
      assert.ok(Math.abs(Number(d.code) - code) <= (Math.abs(v / S - Math.round(v / S)) > 0.499 ? 1 : 0), `value ${v}: code ${d.code}, expected ${code}`);
      assert.ok(Math.abs(Number(d.dequantized) - S * (Number(d.code) - Z)) <= 1e-5 * (S * qmax), `dequantized ${d.dequantized}`);
      assert.ok(Math.abs(Number(d.error) - (v - Number(d.dequantized))) <= 1e-5 * (S * qmax), `error ${d.error}`);
      const clipped = d.clipped === 'true';
      if (!clipped) assert.ok(Math.abs(Number(d.error)) <= (S / 2) * (1 + 1e-4), `|error| ${d.error} > S/2`);
      const unclamped = Math.round(v / S) + Z;
      assert.equal(clipped, unclamped < qmin || unclamped > qmax, `clipped flag at ${v}`);
      if (clipped) sawClipped = true;
      assert.match(d.text, new RegExp(`code ${d.code}\\b`));
      assert.equal(/clipped/.test(d.text), clipped);
      seen.add(d.code);
    }
    assert.ok(seen.size >= 3, `codes seen: ${[...seen]}`);
    assert.ok(sawClipped, 'the slider reaches beyond the grid at one end at least');
  });

  it('bits: 9 pictures of coffee.png with decreasing PSNR, labels and a top-1 each', async () => {
    await waitReady(page, 'bits');
    const items = await page.$$eval('#bits-series li', (lis) => lis.map((li) => ({
      ...li.dataset,
      label: li.querySelector('.qsp-bits-label')?.textContent,
      top1: li.querySelector('.qsp-top1-label')?.textContent,
      canvas: [li.querySelector('canvas')?.width, li.querySelector('canvas')?.height],
    })));
    assert.equal(items.length, 9, JSON.stringify(items.map((i) => i.key)));
    for (const i of items) {
      assert.ok(i.label && i.top1, JSON.stringify(i));
      assert.ok(i.canvas[0] > 0 && i.canvas[1] > 0, `${i.key} canvas ${i.canvas}`);
    }
    assert.equal(items[0].key, 'rgb8');
    assert.equal(items[0].top1, 'espresso');
    const psnr = items.map((i) => Number(i.psnr));
    assert.equal(psnr[0], Infinity);
    // Fewer bits per pixel, more noise: PSNR falls along the colour series (24 .. 3 bits per
    // pixel), and both black-and-white pictures sit below the lowest colour one.
    const colour = items.filter((i) => !i.key.startsWith('bw'));
    for (let k = 1; k < colour.length; k++) {
      assert.ok(Number(colour[k].psnr) < Number(colour[k - 1].psnr), `${colour[k].key} ${colour[k].psnr} !< ${colour[k - 1].key} ${colour[k - 1].psnr}`);
    }
    for (const bw of items.filter((i) => i.key.startsWith('bw'))) {
      assert.ok(Number(bw.psnr) < Number(colour.at(-1).psnr), `${bw.key} ${bw.psnr}`);
    }
    assert.ok(await page.$('#bits-chart svg'), 'PSNR chart');
    const r = await rev(page, 'bits');
    await page.click('#bits-series button[data-key="rgb2"]');
    await page.waitForSelector('#bits-compare:not([hidden]) canvas');
    assert.match(await page.evaluate(() => location.hash), /bitsimg=rgb2/);
    assert.equal(await rev(page, 'bits'), r, 'enlarging must not ask the engine again');
    await page.click('#bits-compare button[data-close]');
    assert.equal(await page.isVisible('#bits-compare'), false);
    assert.doesNotMatch(await page.evaluate(() => location.hash), /bitsimg/);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.key), 'rgb2');
    await page.click('#bits-series button[data-key="rgb2"]'); // enlarged again for the screenshots
    // Resizing and full-page screenshots (next test) re-lay out the whole page: not counted.
    longTasks = await page.evaluate(() => window.__longTasks);
  });

  it('screenshots at 1280x800 and 390x844, with no horizontal scroll', async () => {
    // The sticky nav would cover the top of a panel scrolled into view: hidden for these shots.
    const style = '.panel-nav { visibility: hidden !important; }';
    const problems = [];
    for (const [width, height] of [[1280, 800], [390, 844]]) {
      await page.setViewportSize({ width, height });
      await page.waitForTimeout(600); // the charts re-render after a debounced resize
      await screenshot(page, `panels-page-${width}`);
      for (const name of ['weights', 'bins', 'bits']) {
        await screenshotOf(page, `#panel-${name}`, `panel-${name}-${width}`, { style });
        const wide = await page.$eval(`#panel-${name}`, (s) => [...s.querySelectorAll('*')]
          .filter((e) => e.getBoundingClientRect().right > innerWidth + 1).map((e) => `${e.tagName}.${e.getAttribute('class')}`));
        if (wide.length) problems.push(`${name} overflows at ${width}px: ${wide.slice(0, 5)}`);
      }
      const [scrollWidth, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
      if (scrollWidth > inner) problems.push(`horizontal scroll at ${width}px: scrollWidth ${scrollWidth} > ${inner}`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(300);
    for (const name of ['weights', 'bins', 'bits']) {
      await screenshotOf(page, `#panel-${name}`, `panel-${name}-1280-dark`, { style });
    }
    await page.emulateMedia({ colorScheme: 'light' });
    assert.deepEqual(problems, []);
  });

  it('a hash URL restores the weights and bins view', async () => {
    const layer = await page.$$eval('#weights-layer option', (os) => os.map((o) => o.value).filter((v) => /depthwise/.test(v)).at(-1));
    const linked = await context.newPage();
    linked.on('pageerror', (e) => pageErrors.push(e.message));
    await linked.goto(`${opened.server.url}#panel=weights&layer=${layer}&bits=4&gran=tensor&value=0.01&bitsimg=bw`);
    await waitReady(linked, 'weights');
    assert.equal(await linked.$eval('#weights-layer', (s) => s.value), layer);
    assert.equal(await linked.$eval('#weights-bits', (i) => i.value), '4');
    assert.ok(await linked.isChecked('#weights-gran-tensor'));
    const s = await stats(linked);
    assert.deepEqual([s.layer, s.bits, s.gran], [layer, '4', 'tensor']);
    assert.equal(await levelCount(linked), 15);
    await screenshotOf(linked, '#panel-weights', 'panel-weights-1280-depthwise-tensor-4bit', { style: '.panel-nav { visibility: hidden !important; }' });
    await waitReady(linked, 'bins');
    assert.equal(await linked.$eval('#bins-layer', (i) => i.value), layer);
    assert.equal(await linked.$eval('#bins-bits', (i) => i.value), '4');
    const d = await readout(linked);
    assert.ok(Math.abs(Number(d.value) - 0.01) < 1e-6, `bins value ${d.value}, linked 0.01`);
    await waitReady(linked, 'bits');
    assert.ok(await linked.isVisible('#bits-compare canvas'), 'bitsimg=bw enlarges the black-and-white picture');
    await linked.close();
  });

  it('a link naming an unknown layer says so and shows the first layer', async () => {
    const linked = await context.newPage();
    linked.on('pageerror', (e) => pageErrors.push(e.message));
    await linked.goto(`${opened.server.url}#panel=weights&layer=no.such.layer&bits=5`);
    await waitReady(linked, 'weights');
    const first = await linked.$eval('#weights-layer option', (o) => o.value);
    assert.equal((await stats(linked)).layer, first);
    assert.match(await linked.textContent('#weights-notice'), /no\.such\.layer/);
    assert.ok(await linked.isVisible('#weights-notice'));
    assert.equal(await levelCount(linked), 2 ** 5 - 1);
    await linked.close();
  });

  it('keeps long tasks under 200 ms, requests on 127.0.0.1 and no uncaught errors', async () => {
    assert.ok(Array.isArray(longTasks), 'Long Tasks API missing');
    const over = longTasks.filter((t) => t.duration > 200).map((t) => Math.round(t.duration));
    assert.deepEqual(over, [], `main-thread tasks over 200 ms during the panels' work: ${over}`);
    const foreign = requests.filter((u) => !isLocal(u));
    assert.deepEqual(foreign, [], `requests off 127.0.0.1: ${foreign.join(', ')}`);
    assert.deepEqual(pageErrors, []);
  });
});
