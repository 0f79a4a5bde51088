#!/usr/bin/env node
// Tiny static file server for the quantscope demo (node, no dependencies).
//   node scripts/serve.mjs --root DIR [--port 8080] [--host 127.0.0.1] [--no-isolation]
// By default it sends the headers that make the page crossOriginIsolated (COOP/COEP/CORP), which
// the threaded build needs; --no-isolation leaves them out, like a plain static host.
// The browser tests and the benchmark import `serve()` and run it in their own process.
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

function usage(code) {
  console.error('usage: node scripts/serve.mjs --root DIR [--port 8080] [--host 127.0.0.1] [--no-isolation]');
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { root: null, port: 8080, host: '127.0.0.1', isolation: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(2);
      return argv[++i];
    };
    if (a === '--root') opts.root = value();
    else if (a === '--port') opts.port = Number(value());
    else if (a === '--host') opts.host = value();
    else if (a === '--no-isolation') opts.isolation = false;
    else if (a === '-h' || a === '--help') usage(0);
    else {
      console.error(`unknown argument: ${a}`);
      usage(2);
    }
  }
  if (!opts.root) usage(2);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    console.error('--port must be an integer 0..65535');
    process.exit(2);
  }
  return opts;
}

/**
 * Serves `root` on `host:port` (port 0: any free port).
 * Resolves to `{ url, close }` once listening; `url` ends with '/'.
 */
export async function serve({ root, port = 8080, host = '127.0.0.1', isolation = true, log = false }) {
  root = path.resolve(root);
  if (!(await stat(root).catch(() => null))?.isDirectory()) throw new Error(`${root}: not a directory`);

  function baseHeaders() {
    const h = { 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' };
    if (isolation) {
      h['Cross-Origin-Opener-Policy'] = 'same-origin';
      h['Cross-Origin-Embedder-Policy'] = 'require-corp';
      h['Cross-Origin-Resource-Policy'] = 'same-origin';
    }
    return h;
  }

  function send(res, status, text) {
    res.writeHead(status, { ...baseHeaders(), 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`${text}\n`);
  }

  /** Maps a URL path to a file under root, or null if it escapes root or is malformed. */
  function resolvePath(urlPath) {
    let decoded;
    try {
      decoded = decodeURIComponent(urlPath);
    } catch {
      return null;
    }
    if (decoded.includes('\0')) return null;
    const file = path.resolve(root, `.${path.posix.normalize(`/${decoded}`)}`);
    if (file !== root && !file.startsWith(root + path.sep)) return null;
    return file;
  }

  const server = createServer(async (req, res) => {
    const started = Date.now();
    if (log) res.on('finish', () => console.log(`${res.statusCode} ${req.method} ${req.url} ${Date.now() - started}ms`));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'method not allowed');
    }
    const urlPath = (req.url || '/').split('?')[0].split('#')[0];
    const file = resolvePath(urlPath);
    if (!file) return send(res, 400, 'bad path');
    const found = await findFile(file);
    if (!found) return send(res, 404, 'not found');
    const type = MIME[path.extname(found.file).toLowerCase()] || 'application/octet-stream';
    res.writeHead(200, {
      ...baseHeaders(),
      'Content-Type': type,
      'Content-Length': found.size,
      'Last-Modified': found.mtime.toUTCString(),
    });
    if (req.method === 'HEAD') return res.end();
    const stream = createReadStream(found.file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${server.address().port}/`,
    close: () => new Promise((r) => server.close(r)),
  };
}

async function findFile(file) {
  try {
    let s = await stat(file);
    if (s.isDirectory()) {
      file = path.join(file, 'index.html');
      s = await stat(file);
    }
    return s.isFile() ? { file, size: s.size, mtime: s.mtime } : null;
  } catch {
    return null;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const opts = parseArgs(process.argv.slice(2));
  try {
    const { url } = await serve({ ...opts, log: true });
    console.log(
      `quantscope: serving ${path.resolve(opts.root)} at ${url} ` +
        (opts.isolation ? '(crossOriginIsolated: COOP/COEP on)' : '(--no-isolation: no COOP/COEP)'),
    );
  } catch (e) {
    console.error(`cannot serve ${opts.root} on ${opts.host}:${opts.port}: ${e.message}`);
    process.exit(1);
  }
}
