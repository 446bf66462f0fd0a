// The Node entry to the coordinator: createTrainer() validates options, loads data and any
// checkpoint, starts a Piscina pool, and returns a Trainer that can also save checkpoints.
import { availableParallelism } from 'node:os';
import { checkpointMetadata, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { Coordinator, type StartState } from './coordinator.js';
import type { Mnist } from './data.js';
import { loadMnist } from './mnist-files.js';
import { builtInModel, loadModel } from './models/index.js';
import { resolveOptions, type RecordedOptions, type TrainerOptions } from './options.js';
import { piscinaPool } from './pools/piscina.js';

export class Trainer extends Coordinator {
  /** Set when the checkpoint given as `init` could not restore the optimizer's state (see Checkpoint.warning). */
  warning: string | null = null;

  /** Writes the checkpoint (model + optimizer files, atomically) between steps; returns their paths. */
  async save(path: string): Promise<{ model: string; optimizer: string }> {
    if (typeof path !== 'string' || path === '') throw new TypeError('save: path must be a non-empty string');
    return this.exclusive(async () => {
      const meta = checkpointMetadata(this.options, this.step, this.stepsPerEpoch, await this.weightsSha256());
      return writeCheckpoint(path, this.store.layout, this.store.weights, this.store.state, meta);
    });
  }
}

/** A trainer ready to train: data loaded, weights initialised (or restored), worker threads up. */
export async function createTrainer(options: TrainerOptions = {}): Promise<Trainer> {
  if (typeof options !== 'object' || options === null) throw new TypeError('createTrainer: options must be an object');
  if (options.init !== undefined && (typeof options.init !== 'string' || options.init === '')) {
    throw new TypeError(`options.init must be a checkpoint path, got ${String(options.init)}`);
  }
  const model = options.model === undefined || builtInModel(options.model) ? undefined : await loadModel(options.model);
  const ckpt = options.init ? await readCheckpoint(options.init, { model: model?.spec ?? options.model }) : null;
  const recorded: RecordedOptions = ckpt?.recorded ?? {};
  const resolved = resolveOptions(options, availableParallelism(), recorded, model);
  const data: Mnist = typeof options.data === 'object' && options.data !== null ? options.data : loadMnist(options.data);
  const start: StartState = ckpt ? { weights: ckpt.weights, state: ckpt.state ?? undefined, step: ckpt.step } : {};
  const trainer = new Trainer(resolved, data, start, model?.spec);
  trainer.warning = ckpt?.warning ?? null;
  return trainer.start(options.pool ?? piscinaPool);
}
