// The browser entry, lenet5-parallel/browser (src/browser.ts): its MNIST loader (under Node, which
// has fetch and DecompressionStream too) and its checks; then end to end in a real headless
// Chromium (Debian's `chromium`, driven by playwright-core): the demo page trains, its loss falls,
// it shows predictions, a drawn digit gets classified, and a fixed-seed run's weights hash equals
// the command line's for the same settings, also when a Web Worker is killed mid-run; and the
// example page (examples/browser/), importing the built bundle, matches the command line too.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startDemoServer } from '../demo/server.js';
import { createBrowserTrainer, loadMnistFromUrl } from '../src/browser.js';
import { loadMnist } from '../src/mnist-files.js';
import { packageRoot } from '../src/paths.js';
import { dataDir, idxImages } from './helpers/idx.js';
import { tempDir } from './helpers/tmp.js';

const cliHashes = new Map<string, string>();
/** `lenet5 train --json` with these arguments: its weights hash. */
function cliHash(args: string[]): string {
  const key = args.join(' ');
  if (cliHashes.has(key)) return cliHashes.get(key)!;
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('../dist/cli.js', import.meta.url)), 'train', '--json', '--out', tempDir('cli'), ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const hash = JSON.parse(r.stdout.trim().split('\n').at(-1)!).weightsSha256 as string;
  cliHashes.set(key, hash);
  return hash;
}

describe('lenet5-parallel/browser under Node', () => {
  // A static server over folders of IDX files: /raw/ (plain), /gz/ (name.gz only), /magic/ (a
  // train-images file that is not one), /bomb/ (a gzipped t10k-images that holds more than its
  // header says); /broken/ answers 500; anything else 404.
  let server: Server;
  let base: string;
  let raw: string;
  beforeAll(async () => {
    raw = dataDir();
    const lying = idxImages(40);
    new DataView(lying.buffer).setUint32(4, 20); // the header says 20 images
    const folders: Record<string, string> = {
      raw,
      gz: dataDir({}, { gzip: true }),
      magic: dataDir({ 'train-images-idx3-ubyte': idxImages(20, 28, 28, (i) => i % 256, 1234) }),
      bomb: dataDir({ 't10k-images-idx3-ubyte': lying }, { gzip: true }),
    };
    server = createServer((req, res) => {
      const [, folder, name] = (req.url ?? '').split('/');
      if (folder === 'broken') return void res.writeHead(500, 'Internal Server Error').end();
      const file = Object.hasOwn(folders, folder) ? join(folders[folder], name) : null;
      if (!file || !existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200).end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => void server?.close());

  test('loadMnistFromUrl reads the four IDX files raw or gzip (name.gz when there is no name), as the Node loader does', async () => {
    const want = loadMnist(raw);
    for (const folder of [`${base}/raw/`, `${base}/gz`]) { // a folder URL with or without its slash
      const got = await loadMnistFromUrl(folder);
      for (const split of ['train', 'test'] as const) {
        expect(got[split].count).toBe(want[split].count);
        expect(got[split].shape).toEqual(want[split].shape);
        expect(Buffer.from(got[split].images).equals(Buffer.from(want[split].images))).toBe(true);
        expect(Buffer.from(got[split].labels).equals(Buffer.from(want[split].labels))).toBe(true);
        expect(got[split].images.buffer).toBeInstanceOf(SharedArrayBuffer);
      }
      expect(got.train.source).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/(raw\/train-images-idx3-ubyte|gz\/train-images-idx3-ubyte\.gz)$/);
    }
  });

  test('loadMnistFromUrl fails naming the URL: a missing file, a bad one, one that inflates past its header, an HTTP error', async () => {
    await expect(loadMnistFromUrl(`${base}/none/`)).rejects.toThrow(/^http:\/\/127\.0\.0\.1:\d+\/none\/: no ([\w-]+) \(or \1\.gz\) there \(HTTP 404\); the folder must serve the four IDX files/);
    await expect(loadMnistFromUrl(`${base}/magic/`)).rejects.toThrow(`${base}/magic/train-images-idx3-ubyte: bad magic number 1234`);
    await expect(loadMnistFromUrl(`${base}/bomb/`)).rejects.toThrow(`${base}/bomb/t10k-images-idx3-ubyte.gz: decompresses to more than the 15696 bytes its IDX header describes`);
    await expect(loadMnistFromUrl(`${base}/broken/`)).rejects.toThrow(`${base}/broken/train-images-idx3-ubyte: HTTP 500 Internal Server Error`);
    await expect(loadMnistFromUrl('')).rejects.toThrow(/baseUrl must be the URL/);
  });

  test('createBrowserTrainer refuses a page without cross-origin isolation, naming the headers; the package exports the bundle', async () => {
    await expect(createBrowserTrainer({ data: `${base}/raw/` })).rejects.toThrow(
      /not cross-origin isolated, so SharedArrayBuffer .* is off; serve the page with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp/,
    );
    const exports = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).exports;
    for (const file of [exports['./browser'].types, exports['./browser'].default, exports['./browser/worker']]) expect(existsSync(join(packageRoot(), file)), file).toBe(true);
  });
});

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present) console.warn(`browser test skipped: no Chromium at ${CHROMIUM}; install it with \`apt-get install -y chromium\` (.ci/run does)`);

describe.skipIf(!present)('the browser demo (headless Chromium)', () => {
  let server: Server;
  let url: string;
  let exampleUrl: string;
  let browser: BrowserContext;
  beforeAll(async () => {
    ({ server, url, exampleUrl } = await startDemoServer(0));
    // A fresh profile folder, and the flags that keep Chromium off this closed network.
    browser = await chromium.launchPersistentContext(tempDir('chromium'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  const settings = { model: 'lenet5', workers: '2', batch: '64', seed: '3', limit: '1280', steps: '20' };
  /** The same settings on the command line: its weights hash. */
  const cli = () => cliHash(['--model', settings.model, '--workers', settings.workers, '--batch', settings.batch, '--seed', settings.seed, '--limit', settings.limit, '--steps', settings.steps, '--epochs', '1']);

  test('trains with 2 Web Workers, shows predictions, classifies a drawing, and matches the CLI hash', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}?${new URLSearchParams({ ...settings, autostart: '1' })}`);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    // While it trains, the page says where it is and how long is left.
    const progress = await page.waitForFunction(() => { const t = document.getElementById('status')!.textContent ?? ''; return /ETA/.test(t) && t; }, null, { timeout: 120_000 });
    expect(await progress.jsonValue()).toMatch(/^epoch \d+, step \d+ of \d+: loss \d+\.\d{4}, \d+ samples\/s, ETA (\d+m \d\ds|\d+s)$/);
    await page.waitForFunction(() => (window as any).__lenet5?.done || (window as any).__lenet5?.error, null, { timeout: 120_000 });
    const state = await page.evaluate(() => (window as any).__lenet5);
    expect(state.error).toBeNull();
    expect(errors).toEqual([]);
    // The loss fell.
    expect(state.losses).toHaveLength(20);
    expect(state.losses.at(-1)).toBeLessThan(0.8 * state.losses[0]);
    // The page shows predictions for test digits.
    const cells = await page.locator('#digits .digit').count();
    expect(cells).toBe(24);
    const preds = await page.locator('#digits .digit').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.pred)));
    expect(preds.every((p) => p >= 0 && p <= 9)).toBe(true);
    // Draw a "1" on the pad: a vertical stroke.
    const pad = await page.locator('#pad').boundingBox();
    await page.mouse.move(pad!.x + 98, pad!.y + 30);
    await page.mouse.down();
    for (let y = 30; y <= 170; y += 10) await page.mouse.move(pad!.x + 98, pad!.y + y);
    await page.mouse.up();
    await page.waitForFunction(() => document.getElementById('prediction')!.textContent !== '');
    expect(await page.locator('#prediction').textContent()).toMatch(/^[0-9]$/);
    expect(await page.locator('#probs div').count()).toBe(11); // ten digits and lenet5's "none of these"
    // Same settings on the command line: the same weights, bit for bit.
    expect(state.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await page.locator('#hash').textContent()).toBe(state.hash);
    expect(state.hash).toBe(cli());
    expect(state.faults).toEqual([]);
    await page.screenshot({ path: join(tmpdir(), 'lenet5-demo.png'), fullPage: true });
  }, 240_000);

  test('a Web Worker terminated mid-run is replaced after the task timeout; the run still ends with the CLI hash', async () => {
    const page = await browser.newPage();
    // Keep a handle on every Web Worker the page makes, so that the test can kill one.
    await page.addInitScript(() => {
      const Native = window.Worker;
      const made: Worker[] = ((window as any).__workers = []);
      window.Worker = class extends Native {
        constructor(...args: ConstructorParameters<typeof Worker>) {
          super(...args);
          made.push(this);
        }
      };
    });
    await page.goto(`${url}?${new URLSearchParams({ ...settings, taskTimeout: '2', autostart: '1' })}`);
    await page.waitForFunction(() => (window as any).__lenet5?.losses.length >= 5, null, { timeout: 120_000 });
    await page.evaluate(() => (window as any).__workers[1].terminate()); // no event: to the pool it hangs
    await page.waitForFunction(() => (window as any).__lenet5?.done || (window as any).__lenet5?.error, null, { timeout: 120_000 });
    const state = await page.evaluate(() => (window as any).__lenet5);
    expect(state.error).toBeNull();
    expect(state.faults.length).toBeGreaterThanOrEqual(1);
    expect(state.faults[0]).toMatch(/: the task ran past the 2 s task timeout; its worker was stopped and replaced; running it again \(attempt 2 of 3\)$/);
    expect(await page.evaluate(() => (window as any).__workers.length)).toBe(3); // two, and one replacement
    expect(state.losses).toHaveLength(20);
    expect(state.hash).toBe(cli());
  }, 240_000);
  test('the example page (examples/browser/) trains through the built lenet5-parallel/browser and matches the CLI hash', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const workers: string[] = [];
    page.on('worker', (w) => workers.push(new URL(w.url()).pathname));
    // Every status line the page shows, so that progress seen mid-run can be checked afterwards.
    await page.addInitScript(() => {
      const seen: string[] = ((window as any).__statuses = []);
      new MutationObserver(() => seen.push(document.getElementById('status')?.textContent ?? '')).observe(document, { subtree: true, childList: true, characterData: true });
    });
    const run = { steps: '20', limit: '1280', workers: '2', batch: '64', seed: '5', augment: '0' };
    await page.goto(`${exampleUrl}?${new URLSearchParams(run)}`);
    await page.waitForFunction(() => /^(done|error)/.test(document.getElementById('status')!.textContent ?? ''), null, { timeout: 120_000 });
    expect(await page.locator('#status').textContent()).toMatch(/^done: 20 steps in \d+\.\d s$/);
    expect(errors).toEqual([]);
    // It ran on the package's own worker script, found beside the bundle (the default workerUrl).
    expect(workers).toEqual(['/dist/browser/comlink-worker.js', '/dist/browser/comlink-worker.js']);
    const statuses: string[] = await page.evaluate(() => (window as any).__statuses);
    expect(statuses.some((t) => /^step 10 of 20: loss \d+\.\d{4}, \d+ samples\/s$/.test(t)), statuses.join('\n')).toBe(true);
    expect(await page.locator('#progress').evaluate((p: HTMLProgressElement) => [p.value, p.max])).toEqual([20, 20]);
    expect(await page.locator('#test-error').textContent()).toMatch(/^\d+\.\d\d%$/);
    const hash = await page.locator('#hash').textContent();
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(cliHash(['--model', 'lenet5-softmax', '--workers', run.workers, '--batch', run.batch, '--seed', run.seed, '--limit', run.limit, '--steps', run.steps, '--no-augment']));
  }, 120_000);
});
