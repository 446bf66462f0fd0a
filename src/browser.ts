// lenet5-parallel/browser: the coordinator in a web page, over a pool of Web Workers driven with
// Comlink (the same coordinator, worker code and weights as in Node). No Node imports anywhere
// below this file: scripts/build.mjs bundles it for platform 'browser' and refuses any import it
// cannot bundle.
import { Coordinator } from './coordinator.js';
import type { Mnist } from './data.js';
import { loadMnistFromUrl } from './browser-data.js';
import { loadModel } from './models/index.js';
import { DEFAULTS, resolveOptions, type TrainerOptions } from './options.js';
import { createComlinkPool } from './pools/comlink.js';
import type { PoolFactory } from './protocol.js';

export interface BrowserTrainerOptions extends Omit<TrainerOptions, 'data' | 'init' | 'pool'> {
  /** The dataset: in memory ({ train, test }, e.g. loadMnistFromUrl's), or the URL of a folder serving the four IDX files (loaded with loadMnistFromUrl). */
  data: Mnist | string | URL;
  /**
   * The package's Comlink worker script, `dist/browser/comlink-worker.js` (export
   * `lenet5-parallel/browser/worker`), same-origin as the page. Default: beside this bundle, which
   * is right when the page imports dist/browser/index.js itself; a bundler that copies this module
   * elsewhere needs it given.
   */
  workerUrl?: string | URL;
}

/** Node-only options, and what to do instead in a page. */
const NODE_ONLY: Readonly<Record<string, string>> = {
  init: 'a checkpoint path is Node only; in a page, load weights with setWeights() on the trainer',
  pool: 'in a page the pool is Web Workers running options.workerUrl',
};

/** A pool of module Web Workers, each running the package's Comlink worker script. */
function webWorkerPool(url: URL): PoolFactory {
  return createComlinkPool(() => {
    const worker = new Worker(url, { type: 'module' });
    return {
      endpoint: worker,
      terminate: () => worker.terminate(),
      // A script that fails to load gives an error event with no message.
      onDeath: (callback) => worker.addEventListener('error', (e) =>
        callback(new Error(e.message || `the Web Worker script ${url.href} failed to load; options.workerUrl must be lenet5-parallel's dist/browser/comlink-worker.js, same-origin as the page`))),
    };
  });
}

function workerUrlOf(given: string | URL | undefined): URL {
  if (given === undefined) return new URL('./comlink-worker.js', import.meta.url);
  if (!(given instanceof URL) && (typeof given !== 'string' || given === '')) {
    throw new TypeError(`options.workerUrl must be the URL (a string or URL) of lenet5-parallel's dist/browser/comlink-worker.js, got ${String(given)}`);
  }
  try {
    return new URL(given, globalThis.location?.href);
  } catch {
    throw new TypeError(`options.workerUrl ${String(given)} is not a URL; give that of lenet5-parallel's dist/browser/comlink-worker.js`);
  }
}

/**
 * A trainer in this page, ready to train: options checked (as createTrainer's; workers default to
 * navigator.hardwareConcurrency), the model loaded (a built-in name or a model module's URL), data
 * loaded, weights initialised, Web Workers up. The page must be cross-origin isolated.
 */
export async function createBrowserTrainer(options: BrowserTrainerOptions): Promise<Coordinator> {
  if (typeof options !== 'object' || options === null) throw new TypeError('createBrowserTrainer: options must be an object');
  if (!globalThis.crossOriginIsolated) {
    throw new TypeError(
      'createBrowserTrainer: this page is not cross-origin isolated, so SharedArrayBuffer (where weights and images live) is off; ' +
        'serve the page with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp',
    );
  }
  if (typeof Worker !== 'function') throw new TypeError('createBrowserTrainer: Web Workers are not available here; call it from a page');
  const { workerUrl, data, ...rest } = options;
  for (const [k, why] of Object.entries(NODE_ONLY)) if (k in rest) throw new TypeError(`options.${k} is not an option of createBrowserTrainer: ${why}`);
  const url = workerUrlOf(workerUrl);
  const fromUrl = typeof data === 'string' || data instanceof URL;
  if (data === '' || (!fromUrl && (typeof data !== 'object' || data === null))) {
    throw new TypeError(`options.data must be a dataset { train, test } (e.g. await loadMnistFromUrl(url)) or the URL of a folder serving the four IDX files, got ${JSON.stringify(data)}`);
  }
  // Everything is checked before the data is fetched: a typo fails now, not after 50 MB.
  const model = await loadModel(rest.model ?? DEFAULTS.model);
  const resolved = resolveOptions(fromUrl ? rest : { ...rest, data }, navigator.hardwareConcurrency || 1, {}, model);
  const mnist = fromUrl ? await loadMnistFromUrl(data) : data;
  return new Coordinator(resolved, mnist, {}, model.spec).start(webWorkerPool(url));
}

export { loadMnistFromUrl };
export { Coordinator };
// What a model module is written with. A module given as options.model imports these from this
// bundle's URL, so that in the page and in every worker it shares their tfjs instance.
export { defineModel, convParams, denseParams } from './model.js';
export { tf, conv2d, dense, avgPool2d, maxPool2d, rbf, softmaxCrossEntropy } from './model-ops.js';
export type { ModelDefinition, ParamDef, ModelContext, Params } from './model.js';
export type { StepEvent, EpochEvent, DoneEvent, TrainEvent, TrainRun, Evaluation } from './coordinator.js';
export type { TrainerOptions, ResolvedOptions } from './options.js';
export type { Dataset, Mnist } from './data.js';
export type { ModelSpec } from './model.js';
