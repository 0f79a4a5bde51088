#!/usr/bin/env node
// quantscope and LiteRT.js (XNNPACK) on EfficientNet-Lite0's early pointwise shapes, one block
// at a time: the chains of scripts/make_pointwise_chains.py (models/chains/chains.json), each
// block kind at a short and a long length; a block's time is the difference of the two chains'
// median latencies over the difference of their lengths (the stem, the classifier and each
// engine's per-run costs cancel).
//   node bench/pointwise.mjs [--rounds 3] [--runs 10] [--chains models/chains]
//                            [--out bench/pointwise.json] [--md bench/pointwise.md]
// Each round runs bench/run.mjs once per chain (quantscope and LiteRT.js, fp32 and int8, at 1
// and 2 threads; the short and long chains alternate), and the runs of all rounds are pooled.
// Appends one row per (block, engine, variant, threads) to --out and writes the table to --md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { appendRows } from './history.mjs';
import { median } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

function parseArgs(argv) {
  const o = { rounds: 3, runs: 10, chains: 'models/chains', out: path.join(here, 'pointwise.json'),
    md: path.join(here, 'pointwise.md') };
  for (let i = 0; i < argv.length; i++) {
    const v = () => argv[++i];
    if (argv[i] === '--rounds') o.rounds = Number(v());
    else if (argv[i] === '--runs') o.runs = Number(v());
    else if (argv[i] === '--chains') o.chains = v();
    else if (argv[i] === '--out') o.out = path.resolve(v());
    else if (argv[i] === '--md') o.md = path.resolve(v());
    else {
      console.error('usage: node bench/pointwise.mjs [--rounds N] [--runs N] [--chains DIR] [--out FILE] [--md FILE]');
      process.exit(2);
    }
  }
  if (!(Number.isInteger(o.rounds) && o.rounds >= 1) || !(Number.isInteger(o.runs) && o.runs >= 1)) {
    console.error('pointwise: --rounds and --runs are positive integers');
    process.exit(2);
  }
  return o;
}

const o = parseArgs(process.argv.slice(2));
const manifestPath = path.join(root, o.chains, 'chains.json');
if (!existsSync(manifestPath)) {
  console.error(`pointwise: ${manifestPath} is missing (make chains)`);
  process.exit(1);
}
const blocks = JSON.parse(readFileSync(manifestPath, 'utf8'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pointwise-'));
const key = (r) => `${r.engine} ${r.variant} ${r.threads}`;
// samples[model][key] = every timed run of that engine, variant and thread count.
const samples = {};
const started = Date.now();
try {
  for (let round = 1; round <= o.rounds; round++) {
    for (const b of blocks) {
      for (const [n, model] of Object.entries(b.models)) {
        console.log(`pointwise: round ${round} of ${o.rounds}: ${model} (${n} blocks of ${b.block})`);
        const out = path.join(tmp, `${model}-${round}.json`);
        execFileSync(process.execPath, [path.join(here, 'run.mjs'), '--model', `${o.chains}/${model}`,
          '--engines', 'quantscope,litert.js', '--variants', 'fp32,int8', '--runs', String(o.runs),
          '--warmup', '5', '--out', out, '--md', path.join(tmp, 'run.md')], { stdio: ['ignore', 'ignore', 'inherit'] });
        for (const r of JSON.parse(readFileSync(out, 'utf8'))) {
          ((samples[model] ??= {})[key(r)] ??= []).push(...r.samples_ms);
        }
      }
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

// One row per (block, engine, variant, threads): the time of one block, ms, and its GOP/s.
const rows = [];
const date = new Date().toISOString();
for (const b of blocks) {
  const [short, long] = Object.entries(b.models).sort((x, y) => Number(x[0]) - Number(y[0]));
  const extra = Number(long[0]) - Number(short[0]);
  for (const k of Object.keys(samples[long[1]] ?? {})) {
    const [a, z] = [samples[short[1]]?.[k], samples[long[1]][k]];
    if (!a) continue;
    const ms = (median(z) - median(a)) / extra;
    const [engine, variant, threads] = k.split(' ');
    rows.push({ date, block: b.block, convs: b.convs, pixels: b.pixels, engine, variant, threads: Number(threads),
      ms_per_block: ms, gops: (2 * b.macs_per_block) / (ms * 1e6),
      chains: { [short[1]]: median(a), [long[1]]: median(z) }, runs_per_chain: [a.length, z.length] });
  }
}

const fmt = (x, d = 3) => (x == null || !Number.isFinite(x) ? '–' : x.toFixed(d));
const find = (block, engine, variant, threads) =>
  rows.find((r) => r.block === block && r.engine === engine && r.variant === variant && r.threads === threads);
const md = ['# Pointwise blocks: quantscope and LiteRT.js', '',
  `${date}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model?.trim() ?? 'unknown'}). ` +
  'Chains of 1x1 convolutions (bias, ReLU6) at 112x112 from `scripts/make_pointwise_chains.py`, ' +
  'behind a 3x3 stride-2 stem and before pooling and a classifier; a block\'s time is the difference ' +
  'of the medians of a long and a short chain over the difference of their lengths ' +
  `(${o.rounds} rounds of ${o.runs} runs per chain, engine and thread count; \`bench/run.mjs\` for each chain). ` +
  'GOP/s counts 2 ops per multiply-add of the block\'s convolutions.', '',
  '| block (C_in -> C_out) | variant | threads | quantscope ms | LiteRT.js ms | quantscope / LiteRT.js | quantscope GOP/s | LiteRT.js GOP/s |',
  '|---|---|---:|---:|---:|---:|---:|---:|'];
for (const b of blocks) {
  const name = `${b.block} (${b.convs.map(([i, j]) => `${i} -> ${j}`).join(', ')})`;
  for (const variant of ['int8', 'fp32']) {
    for (const threads of [1, 2]) {
      const [q, l] = [find(b.block, 'quantscope', variant, threads), find(b.block, 'litert.js', variant, threads)];
      if (!q && !l) continue;
      md.push(`| ${name} | ${variant} | ${threads} | ${fmt(q?.ms_per_block)} | ${fmt(l?.ms_per_block)} | ` +
        `${q && l ? `${(q.ms_per_block / l.ms_per_block).toFixed(2)}x` : '–'} | ${fmt(q?.gops, 1)} | ${fmt(l?.gops, 1)} |`);
    }
  }
}
await appendRows(o.out, rows, 'pointwise');
await writeFile(o.md, `${md.join('\n')}\n`);
console.log(`\n${md.join('\n')}\n`);
console.log(`pointwise: appended ${rows.length} rows to ${o.out}, wrote ${o.md} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
