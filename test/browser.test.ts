// End to end in a real headless Chromium (Debian's `chromium`, driven by playwright-core): the
// demo page trains, its loss falls, it shows predictions, a drawn digit gets classified, and a
// fixed-seed run's weights hash equals the command line's for the same settings, also when a Web
// Worker is killed mid-run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startDemoServer } from '../demo/server.js';
import { tempDir } from './helpers/tmp.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present) console.warn(`browser test skipped: no Chromium at ${CHROMIUM}; install it with \`apt-get install -y chromium\` (.ci/run does)`);

describe.skipIf(!present)('the browser demo (headless Chromium)', () => {
  let server: Server;
  let url: string;
  let browser: BrowserContext;
  beforeAll(async () => {
    ({ server, url } = await startDemoServer(0));
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
  let cliHash: string | null = null;
  /** The same settings on the command line: its weights hash. */
  const cli = () => {
    if (cliHash) return cliHash;
    const r = spawnSync(
      process.execPath,
      [fileURLToPath(new URL('../dist/cli.js', import.meta.url)), 'train', '--json', '--out', tempDir('cli'),
        '--model', settings.model, '--workers', settings.workers, '--batch', settings.batch, '--seed', settings.seed, '--limit', settings.limit, '--steps', settings.steps, '--epochs', '1'],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    cliHash = JSON.parse(r.stdout.trim().split('\n').at(-1)!).weightsSha256 as string;
    return cliHash;
  };

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
});
