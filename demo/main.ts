// The browser demo: a user of lenet5-parallel/browser (src/browser.ts), bundled from the sources
// as a web app's bundler would, its Web Workers running the package's dist/browser/comlink-worker.js.
// URL parameters prefill the form (model, workers, batch, seed, epochs, steps, limit) and
// `autostart=1` starts at once; window.__lenet5 exposes progress for the end-to-end test.
import { createBrowserTrainer, loadMnistFromUrl, type BrowserTrainerOptions, type Coordinator, type Mnist, type ModelSpec, type TrainEvent } from '../src/browser.js';
import { toMnistDigit } from '../src/digit-image.js';
import { UNRECOGNISED } from '../src/model.js';

const IMAGE_SIDE = 28; // MNIST
/** Where the demo server serves the package's dist/browser/ (demo/server.ts). */
const WORKER_URL = new URL('/dist/browser/comlink-worker.js', location.href);

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);
const status = (s: string) => ($('status').textContent = s);

interface DemoState {
  losses: number[];
  testErrors: number[];
  done: boolean;
  hash: string | null;
  error: string | null;
  predictions: number;
  /** Tasks that failed (a worker died or hung) and were run again. */
  faults: string[];
}
const state: DemoState = { losses: [], testErrors: [], done: false, hash: null, error: null, predictions: 0, faults: [] };
(window as unknown as { __lenet5: DemoState }).__lenet5 = state;

// ---- chart: loss per step (log scale, left) and test error per epoch (right, red) ----------------
function drawChart(stepsPerEpoch: number): void {
  const canvas = $<HTMLCanvasElement>('chart');
  const g = canvas.getContext('2d')!;
  const { width: w, height: h } = canvas;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = '#ccc';
  g.strokeRect(40, 10, w - 90, h - 40);
  const n = state.losses.length;
  if (!n) return;
  const logs = state.losses.map((l) => Math.log10(Math.max(l, 1e-3)));
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  const x = (i: number) => 40 + ((w - 90) * i) / Math.max(1, n - 1);
  const y = (v: number) => 10 + (h - 40) * (1 - (v - lo) / Math.max(1e-9, hi - lo));
  g.strokeStyle = '#1f77b4';
  g.beginPath();
  logs.forEach((v, i) => (i ? g.lineTo(x(i), y(v)) : g.moveTo(x(i), y(v))));
  g.stroke();
  g.fillStyle = '#1f77b4';
  g.fillText(`loss ${state.losses[n - 1].toFixed(3)}`, 44, 24);
  g.fillText(`${(10 ** hi).toPrecision(3)}`, 2, 18);
  g.fillText(`${(10 ** lo).toPrecision(3)}`, 2, h - 30);
  // Test error on the right: 0 to the smallest of 10, 20, 50, 100% that holds every point.
  const top = [0.1, 0.2, 0.5, 1].find((t) => state.testErrors.every((e) => e <= t)) ?? 1;
  g.fillStyle = '#d62728';
  state.testErrors.forEach((e, k) => {
    const px = x(Math.min(n - 1, (k + 1) * stepsPerEpoch - 1));
    const py = 10 + (h - 40) * (1 - e / top);
    g.fillRect(px - 3, py - 3, 6, 6);
    g.fillText(`${(100 * e).toFixed(2)}%`, Math.min(px + 4, w - 48), py);
  });
  g.fillText(`${100 * top}%`, w - 46, 18);
  g.fillText('0%', w - 46, h - 30);
  // Steps along the bottom: five ticks from the first step to the last.
  g.fillStyle = '#444';
  g.strokeStyle = '#444';
  for (let k = 0; k <= 4; k++) {
    const i = Math.round(((n - 1) * k) / 4);
    g.beginPath();
    g.moveTo(x(i), h - 30);
    g.lineTo(x(i), h - 26);
    g.stroke();
    g.fillText(String(i + 1), x(i) - 8, h - 16);
  }
  g.fillText('step', w / 2 - 10, h - 4);
  g.fillText(`test error (0-${100 * top}%)`, w - 130, 24);
}

/** "1m 05s" / "42s". */
const duration = (ms: number) => {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

// ---- predictions on test digits -------------------------------------------------------------------
const GRID = 24;
async function showTestDigits(c: Coordinator): Promise<void> {
  const images = c.data.test.images.slice(0, GRID * IMAGE_SIDE * IMAGE_SIDE);
  const { predicted } = await c.predict(images);
  const grid = $('digits');
  grid.textContent = '';
  for (let k = 0; k < GRID; k++) {
    const label = c.data.test.labels[k];
    const cell = document.createElement('div');
    cell.className = 'digit';
    cell.dataset.label = String(label);
    cell.dataset.pred = String(predicted[k]);
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = IMAGE_SIDE;
    const img = new ImageData(IMAGE_SIDE, IMAGE_SIDE);
    for (let p = 0; p < IMAGE_SIDE * IMAGE_SIDE; p++) {
      const v = images[k * IMAGE_SIDE * IMAGE_SIDE + p];
      img.data.set([v, v, v, 255], 4 * p);
    }
    canvas.getContext('2d')!.putImageData(img, 0, 0);
    const text = document.createElement('div');
    text.textContent = `${predicted[k]}`;
    if (predicted[k] !== label) text.className = 'wrong';
    cell.append(canvas, text);
    grid.append(cell);
  }
  state.predictions++;
}

// ---- the drawing pad --------------------------------------------------------------------------------
function setUpPad(classify: (digit: Uint8Array) => void): void {
  const pad = $<HTMLCanvasElement>('pad');
  const g = pad.getContext('2d')!;
  const clear = () => {
    g.fillStyle = '#000';
    g.fillRect(0, 0, pad.width, pad.height);
    $('prediction').textContent = '';
    $('probs').textContent = '';
  };
  clear();
  let drawing = false;
  const at = (e: PointerEvent) => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
  };
  pad.addEventListener('pointerdown', (e) => {
    drawing = true;
    pad.setPointerCapture(e.pointerId);
    const [x, y] = at(e);
    g.beginPath();
    g.moveTo(x, y);
  });
  pad.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    const [x, y] = at(e);
    g.strokeStyle = '#fff';
    g.lineWidth = 14;
    g.lineCap = g.lineJoin = 'round';
    g.lineTo(x, y);
    g.stroke();
  });
  pad.addEventListener('pointerup', () => {
    drawing = false;
    const { data } = g.getImageData(0, 0, pad.width, pad.height);
    const gray = new Float32Array(pad.width * pad.height);
    for (let i = 0; i < gray.length; i++) gray[i] = data[4 * i];
    classify(toMnistDigit(gray, pad.width, pad.height));
  });
  $('clear').addEventListener('click', clear);
}

function showPrediction(spec: ModelSpec, modelOptions: Readonly<Record<string, number>>, scores: Float32Array, digit: number): void {
  // A posterior with a share for "none of these" (lenet5's) gets a last bar; the digit is the closest
  // class, marked unsure when "none" dominates.
  const { probabilities, none } = spec.probabilities(scores, { options: modelOptions });
  $('prediction').textContent = String(digit);
  $('prediction').title = none >= UNRECOGNISED ? `unsure: none of these ${(100 * none).toFixed(1)}%` : '';
  const bar = (label: string, p: number) => `<div>${label} ${'█'.repeat(Math.round(20 * p)).padEnd(20, '·')} ${(100 * p).toFixed(1)}%</div>`;
  $('probs').innerHTML = probabilities.map((p, i) => bar(String(i), p)).join('') + (none > 0 ? bar('none', none) : '');
}

// ---- training ------------------------------------------------------------------------------------------
let coordinator: Coordinator | null = null;
let stopper: AbortController | null = null;
let pending: Uint8Array | null = null; // a drawn digit waiting for the step in progress to end

async function classifyPending(): Promise<void> {
  if (!coordinator || !pending) return;
  const digit = pending;
  pending = null;
  if (digit.every((v) => v === 0)) return;
  const { scores, predicted } = await coordinator.predict(digit);
  showPrediction(coordinator.spec, coordinator.options.modelOptions, scores, predicted[0]);
}

function readOptions(): { options: Omit<BrowserTrainerOptions, 'data'>; epochs: number; steps?: number } {
  const num = (id: string) => (input(id).value === '' ? undefined : Number(input(id).value));
  const workers = num('workers') ?? navigator.hardwareConcurrency;
  const timeout = new URLSearchParams(location.search).get('taskTimeout'); // seconds; no input box
  return {
    options: {
      model: $<HTMLSelectElement>('model').value,
      workers,
      shards: workers,
      batchSize: num('batch'),
      seed: num('seed'),
      limit: num('limit'),
      taskTimeoutMs: timeout === null ? undefined : Number(timeout) * 1000,
    },
    epochs: num('epochs') ?? 1,
    steps: num('steps'),
  };
}

async function train(mnist: Mnist): Promise<void> {
  $<HTMLButtonElement>('start').disabled = true; // before any await: a second click must not start a second run
  const { options, epochs, steps } = readOptions();
  await coordinator?.close();
  Object.assign(state, { losses: [], testErrors: [], done: false, hash: null, error: null, faults: [] });
  $('hash').textContent = '-';
  status(`starting ${options.workers} workers…`);
  coordinator = await createBrowserTrainer({ ...options, epochs, data: mnist, workerUrl: WORKER_URL });
  const c = coordinator;
  stopper = new AbortController();
  $<HTMLButtonElement>('stop').disabled = false;
  $<HTMLButtonElement>('start').disabled = true;
  const started = performance.now();
  const last = Math.min(epochs * c.stepsPerEpoch, steps ?? Infinity);
  let stepMs = 0; // smoothed wall time of a step, for the ETA
  let ev: TrainEvent;
  for await (ev of c.train({ epochs, steps, signal: stopper.signal })) {
    for (const f of ev.faults ?? []) {
      state.faults.push(f);
      console.warn(`lenet5: ${f}`);
    }
    if (ev.type === 'step') {
      state.losses.push(ev.loss);
      stepMs = stepMs ? 0.9 * stepMs + 0.1 * ev.ms : ev.ms;
      status(`epoch ${ev.epoch + 1}, step ${ev.step} of ${last}: loss ${ev.loss.toFixed(4)}, ${Math.round(ev.samplesPerSec)} samples/s, ETA ${duration((last - ev.step) * stepMs)}`);
      if (ev.step % 10 === 0) drawChart(c.stepsPerEpoch);
      await classifyPending();
    } else if (ev.type === 'epoch') {
      state.testErrors.push(ev.testError);
      drawChart(c.stepsPerEpoch);
      await showTestDigits(c);
    } else {
      drawChart(c.stepsPerEpoch);
      await showTestDigits(c);
      state.hash = ev.weightsSha256;
      state.done = true;
      $('hash').textContent = ev.weightsSha256;
      status(`${ev.reason === 'aborted' ? 'stopped' : 'done'} after ${ev.step} steps in ${((performance.now() - started) / 1000).toFixed(1)} s: test error ${(100 * ev.testError).toFixed(2)}%. Draw a digit!`);
    }
  }
  $<HTMLButtonElement>('stop').disabled = true;
  $<HTMLButtonElement>('start').disabled = false;
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  for (const id of ['model', 'workers', 'batch', 'seed', 'epochs', 'steps', 'limit']) {
    const v = params.get(id);
    if (v !== null) ($(id) as HTMLInputElement).value = v;
  }
  if (!input('workers').value) input('workers').value = String(navigator.hardwareConcurrency);
  if (!crossOriginIsolated) throw new Error('this page is not cross-origin isolated, so SharedArrayBuffer is off: serve it with `npm run demo`');
  status('loading MNIST…');
  const mnist = await loadMnistFromUrl('./mnist/');
  status(`MNIST loaded: ${mnist.train.count} training and ${mnist.test.count} test images. Press start.`);
  const run = () =>
    train(mnist).catch((e: Error) => {
      state.error = e.message;
      status(`error: ${e.message}`);
      $<HTMLButtonElement>('start').disabled = false;
    });
  $<HTMLButtonElement>('start').disabled = false;
  $('start').addEventListener('click', run);
  $('stop').addEventListener('click', () => stopper?.abort());
  setUpPad((digit) => {
    pending = digit;
    // While training, the loop classifies it after the step in progress; otherwise do it now.
    // (Coordinator operations queue behind each other, so this never races a step.)
    if (!coordinator) status('train a model first, then draw');
    else if (state.done) classifyPending().catch((e: Error) => status(`error: ${e.message}`));
  });
  if (params.get('autostart') === '1') await run();
}

main().catch((e: Error) => {
  state.error = e.message;
  status(`error: ${e.message}`);
});
