// Checkpoints (Node): the model as one .safetensors file with PyTorch's names and layouts, so
// `torch.nn.Module.load_state_dict` takes it as is, and the SGD momentum beside it in
// <name>.optim.safetensors. Both are written atomically (temporary file, fsync, rename), the
// model file last: an interrupted save leaves the previous checkpoint whole.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { sha256Hex } from './coordinator.js';
import { createModel, MODEL_NAMES, type ModelName } from './model.js';
import type { RecordedOptions, ResolvedOptions } from './options.js';
import { layoutOf, type Layout } from './params.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';

export const PRODUCER = 'lenet5-parallel';

/** foo.safetensors -> foo.optim.safetensors */
export function optimizerPath(path: string): string {
  return path.endsWith('.safetensors') ? `${path.slice(0, -'.safetensors'.length)}.optim.safetensors` : `${path}.optim.safetensors`;
}

export interface Checkpoint {
  readonly model: ModelName;
  readonly step: number;
  /** The hyper-parameters the run used. */
  readonly recorded: RecordedOptions;
  /** All tensors back to back in checkpoint order (the ParamStore's weights layout). */
  readonly weights: Float32Array;
  /** The SGD velocity, same layout, when a matching optimizer file is there. */
  readonly momentum: Float32Array | null;
  /** Why the momentum was not loaded although an optimizer file exists (it belongs to another save). */
  readonly warning: string | null;
  readonly metadata: Readonly<Record<string, string>>;
}

/** The metadata strings of a checkpoint (SPEC: format, model, j, step, epoch, seed, hyper-parameters). */
export function checkpointMetadata(o: ResolvedOptions, step: number, stepsPerEpoch: number, weightsSha256: string): Record<string, string> {
  const m: Record<string, string> = {
    format: 'pt',
    producer: PRODUCER,
    model: o.model,
    step: String(step),
    epoch: String(Math.floor(step / stepsPerEpoch)),
    steps_per_epoch: String(stepsPerEpoch),
    seed: String(o.seed),
    batch_size: String(o.batchSize),
    shards: String(o.shards),
    learning_rate: String(o.learningRate),
    lr_decay: String(o.lrDecay),
    lr_decay_every: String(o.lrDecayEvery),
    momentum: String(o.momentum),
    shuffle: String(o.shuffle),
    augment: o.augment ? JSON.stringify(o.augment) : 'none',
    epochs: String(o.epochs),
    weights_sha256: weightsSha256,
  };
  if (o.model === 'lenet5') m.j = String(o.j);
  if (o.limit !== null) m.limit = String(o.limit);
  return m;
}

function tensorsOf(layout: Layout, region: Float32Array): NamedTensor[] {
  return layout.tensors.map((t) => ({ name: t.name, shape: t.shape, data: region.subarray(t.offset, t.offset + t.size) }));
}

function writeAtomically(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot save ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Saves weights and momentum (layout order) with their metadata; returns the two paths. */
export function writeCheckpoint(
  path: string,
  layout: Layout,
  weights: Float32Array,
  momentum: Float32Array,
  metadata: Record<string, string>,
): { model: string; optimizer: string } {
  mkdirSync(dirname(path), { recursive: true });
  const optimizer = optimizerPath(path);
  const optimMeta = { format: 'pt', producer: PRODUCER, kind: 'sgd-momentum', step: metadata.step, weights_sha256: metadata.weights_sha256 };
  writeAtomically(optimizer, encodeSafetensors(tensorsOf(layout, momentum), optimMeta));
  writeAtomically(path, encodeSafetensors(tensorsOf(layout, weights), metadata));
  return { model: path, optimizer };
}

function parseNumber(file: string, meta: Record<string, string>, key: string, integer = false): number | undefined {
  const v = meta[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new Error(`${file}: metadata ${key} is ${JSON.stringify(v)}, not ${integer ? 'an integer' : 'a number'}`);
  }
  return n;
}

/** Reads and checks a checkpoint (and its optimizer file, if present) against its model's spec. */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  if (!existsSync(path)) throw new Error(`checkpoint ${path} does not exist`);
  const file = decodeSafetensors(readFileSync(path), path);
  const meta = file.metadata;
  const model = meta.model as ModelName;
  if (!MODEL_NAMES.includes(model)) {
    throw new Error(`${path}: metadata model is ${JSON.stringify(meta.model)}; expected one of ${MODEL_NAMES.join(', ')}`);
  }
  const j = parseNumber(path, meta, 'j');
  const layout = layoutOf(createModel(model, { j }));
  const fill = (f: { tensors: readonly NamedTensor[] }, what: string) => {
    const region = new Float32Array(layout.size);
    const byName = new Map(f.tensors.map((t) => [t.name, t]));
    for (const t of layout.tensors) {
      const got = byName.get(t.name);
      if (!got) throw new Error(`${what}: no tensor ${t.name}; a ${model} checkpoint has ${layout.tensors.map((v) => v.name).join(', ')}`);
      if (got.shape.join(',') !== t.shape.join(',')) {
        throw new Error(`${what}: tensor ${t.name} is [${got.shape.join(', ')}], ${model} needs [${t.shape.join(', ')}]`);
      }
      region.set(got.data, t.offset);
      byName.delete(t.name);
    }
    if (byName.size) throw new Error(`${what}: unexpected tensors ${[...byName.keys()].join(', ')} for a ${model} model`);
    return region;
  };
  const weights = fill(file, path);
  const sha = await sha256Hex(new Uint8Array(weights.buffer));
  if (meta.weights_sha256 && meta.weights_sha256 !== sha) {
    throw new Error(`${path}: the tensor data does not match its recorded weights_sha256; the file is corrupt`);
  }
  const step = parseNumber(path, meta, 'step', true) ?? 0;
  // A save interrupted between its two renames leaves the new optimizer file beside the previous
  // model file. The model file is whole: load it, restart the momentum at zero, and say so.
  let momentum: Float32Array | null = null;
  let warning: string | null = null;
  const optPath = optimizerPath(path);
  if (existsSync(optPath)) {
    const opt = decodeSafetensors(readFileSync(optPath), optPath);
    if (opt.metadata.weights_sha256 === meta.weights_sha256 && opt.metadata.step === meta.step) momentum = fill(opt, optPath);
    else warning = `${optPath} belongs to another save (step ${opt.metadata.step}, not ${meta.step}, or other weights): momentum restarts at zero, so the run will not match an uninterrupted one bit for bit`;
  }
  const augment = meta.augment === undefined ? undefined : meta.augment === 'none' ? null : (() => {
    try {
      return JSON.parse(meta.augment);
    } catch {
      throw new Error(`${path}: metadata augment is not JSON`);
    }
  })();
  const recorded: RecordedOptions = {
    model,
    j,
    seed: parseNumber(path, meta, 'seed', true),
    batchSize: parseNumber(path, meta, 'batch_size', true),
    shards: parseNumber(path, meta, 'shards', true),
    learningRate: parseNumber(path, meta, 'learning_rate'),
    lrDecay: parseNumber(path, meta, 'lr_decay'),
    lrDecayEvery: parseNumber(path, meta, 'lr_decay_every', true),
    momentum: parseNumber(path, meta, 'momentum'),
    shuffle: meta.shuffle === undefined ? undefined : meta.shuffle === 'true',
    augment,
    epochs: parseNumber(path, meta, 'epochs', true),
    limit: parseNumber(path, meta, 'limit', true),
  };
  return { model, step, recorded, weights, momentum, warning, metadata: meta };
}
