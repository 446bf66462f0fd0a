// The browser entry at its smallest: MNIST from the folder next to this page, lenet5-softmax
// trained on the page's Web Workers for some steps, then the test error and the weights hash.
// The page must be cross-origin isolated (COOP and COEP headers): `npm run demo` serves it so.
// URL parameters change the run: steps, limit, workers, batch, seed, augment=0.
import { createBrowserTrainer, loadMnistFromUrl } from 'lenet5-parallel/browser';

const params = new URLSearchParams(location.search);
const num = (name, fallback) => (params.has(name) ? Number(params.get(name)) : fallback);
const show = (id, text) => (document.getElementById(id).textContent = text);

try {
  const data = await loadMnistFromUrl('./mnist/');
  const trainer = await createBrowserTrainer({
    model: 'lenet5-softmax',
    data,
    workers: num('workers', navigator.hardwareConcurrency),
    batchSize: num('batch', 64),
    seed: num('seed', 1),
    limit: num('limit', undefined),
    augment: params.get('augment') !== '0',
  });
  const steps = Math.min(num('steps', 300), trainer.options.epochs * trainer.stepsPerEpoch);
  const progress = document.getElementById('progress');
  progress.max = steps;
  for await (const ev of trainer.train({ steps })) {
    if (ev.type === 'step') {
      progress.value = ev.step;
      show('status', `step ${ev.step} of ${steps}: loss ${ev.loss.toFixed(4)}, ${Math.round(ev.samplesPerSec)} samples/s`);
    } else if (ev.type === 'done') {
      show('status', `done: ${ev.step} steps in ${(ev.elapsedMs / 1000).toFixed(1)} s`);
      show('test-error', `${(100 * ev.testError).toFixed(2)}%`);
      show('hash', ev.weightsSha256);
    }
  }
  await trainer.close();
} catch (e) {
  show('status', `error: ${e instanceof Error ? e.message : String(e)}`);
}
