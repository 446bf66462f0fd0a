// Checkpoints (Node): the model as one .safetensors file with PyTorch's names and layouts, so
// `torch.nn.Module.load_state_dict` takes it as is, and the optimizer's state beside it in
// <name>.optim.safetensors. Both are saved as one, verified (files.ts), the model file renamed
// last; reading is strict about everything but the optimizer file, which only resuming needs.
//
// The optimizer file holds every state region of the store (optimizer.ts OPTIMIZER_STATE) for
// every tensor of the model, in the model's layout, and in its metadata the kind, the step and
// the model file's weights_sha256 (so a pair from two saves is recognised), and each region's
// <region>_sha256:
//   sgd           kind sgd-momentum; the momentum under the model's tensor names (c1.weight, ...)
//   adam, adamw   kind adam / adamw; exp_avg.<tensor> and exp_avg_sq.<tensor> (PyTorch's state
//                 names), and beta1, beta2, epsilon, weight_decay
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFileChecked, saveFiles } from './files.js';
import { sha256Hex } from './coordinator.js';
import { fixedMismatch, type ModelSpec } from './model.js';
import { BUILT_IN_MODELS, builtInModel, loadModel, MODEL_NAMES } from './models/index.js';
import { resolveOptions, type RecordedOptions, type ResolvedOptions } from './options.js';
import { OPTIMIZER_STATE, type LrScheduleName, type OptimizerName } from './optimizer.js';
import { layoutOf, MAX_STEP, type Layout } from './params.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';

export const PRODUCER = 'lenet5-parallel';

/** The optimizer file's `kind` for each optimizer. */
const OPTIMIZER_KIND: Readonly<Record<OptimizerName, string>> = { sgd: 'sgd-momentum', adam: 'adam', adamw: 'adamw' };

/** Where a state region's tensors are in the optimizer file: sgd's single region under the model's names. */
const regionPrefix = (optimizer: OptimizerName, region: string) => (optimizer === 'sgd' ? '' : `${region}.`);

/** foo.safetensors -> foo.optim.safetensors */
export function optimizerPath(path: string): string {
  return path.endsWith('.safetensors') ? `${path.slice(0, -'.safetensors'.length)}.optim.safetensors` : `${path}.optim.safetensors`;
}

export interface Checkpoint {
  /** The model's name. */
  readonly model: string;
  readonly step: number;
  /** The hyper-parameters the run used. */
  readonly recorded: RecordedOptions;
  /** All tensors back to back in checkpoint order (the ParamStore's weights layout). */
  readonly weights: Float32Array;
  /** The optimizer's state regions by name, same layout, when a matching optimizer file is there (see the top of this file). */
  readonly state: Readonly<Record<string, Float32Array>> | null;
  /** SGD's velocity: state.momentum, or null. */
  readonly momentum: Float32Array | null;
  /** Why the state was not loaded: no optimizer file, a damaged one, or one from another save or optimizer. */
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
    optimizer: o.optimizer,
    learning_rate: String(o.learningRate),
    lr_schedule: o.lrSchedule,
    // Only what the run's optimizer and schedule read.
    ...(o.lrSchedule === 'step' ? { lr_decay: String(o.lrDecay), lr_decay_every: String(o.lrDecayEvery) } : {}),
    ...(o.optimizer === 'sgd' ? { momentum: String(o.momentum) } : { beta1: String(o.beta1), beta2: String(o.beta2), epsilon: String(o.epsilon) }),
    weight_decay: String(o.weightDecay),
    weight_init: o.weightInit,
    shuffle: String(o.shuffle),
    augment: o.augment ? JSON.stringify(o.augment) : 'none',
    epochs: String(o.epochs),
    weights_sha256: weightsSha256,
  };
  // The model's own options, each under its name (lenet5's j), as SPEC.md's metadata lists it.
  for (const [k, v] of Object.entries(o.modelOptions)) {
    if (k in m) throw new Error(`model ${o.model}'s option ${k} has the name of a checkpoint field; rename it`);
    m[k] = String(v);
  }
  if (o.limit !== null) m.limit = String(o.limit);
  return m;
}

function tensorsOf(layout: Layout, region: Float32Array): NamedTensor[] {
  return layout.tensors.map((t) => ({ name: t.name, shape: t.shape, data: region.subarray(t.offset, t.offset + t.size) }));
}

/**
 * Saves the weights and the optimizer's state (layout order) with their metadata, verified
 * (files.ts); returns the two paths. `state` holds the regions of metadata.optimizer (sgd when
 * absent): ParamStore.state, or for sgd its momentum alone.
 */
export function writeCheckpoint(
  path: string,
  layout: Layout,
  weights: Float32Array,
  state: Float32Array | Readonly<Record<string, Float32Array>>,
  metadata: Record<string, string>,
): { model: string; optimizer: string } {
  const optimizer = (metadata.optimizer ?? 'sgd') as OptimizerName;
  const names = OPTIMIZER_STATE[optimizer];
  if (!names) throw new TypeError(`writeCheckpoint: metadata optimizer is ${JSON.stringify(metadata.optimizer)}; expected one of ${Object.keys(OPTIMIZER_STATE).join(', ')}`);
  const regions = state instanceof Float32Array ? { momentum: state } : state;
  if (Object.keys(regions).sort().join() !== [...names].sort().join()) {
    throw new TypeError(`writeCheckpoint: a ${optimizer} checkpoint holds the state ${names.join(', ')}, got ${Object.keys(regions).join(', ') || 'none'}`);
  }
  const optimMeta: Record<string, string> = {
    format: 'pt', producer: PRODUCER, kind: OPTIMIZER_KIND[optimizer], step: metadata.step, weights_sha256: metadata.weights_sha256,
  };
  if (optimizer !== 'sgd') for (const k of ['beta1', 'beta2', 'epsilon', 'weight_decay']) optimMeta[k] = metadata[k];
  for (const r of names) optimMeta[`${r}_sha256`] = sha256Sync(regions[r]);
  const tensors = names.flatMap((r) => tensorsOf(layout, regions[r]).map((t) => ({ ...t, name: regionPrefix(optimizer, r) + t.name })));
  const optPath = optimizerPath(path);
  // The model file is renamed last: a save cut between the renames leaves the old model with a
  // new optimizer file, which readCheckpoint recognises (a warning, not a refused model).
  saveFiles([
    { path: optPath, bytes: encodeSafetensors(tensors, optimMeta) },
    { path, bytes: encodeSafetensors(tensorsOf(layout, weights), metadata) },
  ]);
  return { model: path, optimizer: optPath };
}

/** SHA-256 of a float region's bytes (Node's crypto: synchronous, for the save path). */
function sha256Sync(region: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(region.buffer, region.byteOffset, region.byteLength)).digest('hex');
}

/** A decimal number as JSON writes it (no hex, no spaces, no "Infinity"). */
const DECIMAL = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** Metadata strings as typed values; anything else is refused with the file and the key. */
function metadataReader(file: string, meta: Readonly<Record<string, string>>) {
  const bad = (key: string, what: string) => new Error(`${file}: metadata ${key} is ${JSON.stringify(meta[key])}, not ${what}`);
  const number = (key: string): number | undefined => {
    const v = meta[key];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!DECIMAL.test(v) || !Number.isFinite(n)) throw bad(key, 'a finite number');
    return n;
  };
  return {
    number,
    integer(key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
      const n = number(key);
      if (n !== undefined && !(Number.isInteger(n) && n >= min && n <= max)) throw bad(key, `an integer in ${min}..${max}`);
      return n;
    },
    boolean(key: string): boolean | undefined {
      const v = meta[key];
      if (v === undefined) return undefined;
      if (v !== 'true' && v !== 'false') throw bad(key, 'true or false');
      return v === 'true';
    },
    json(key: string): unknown {
      const v = meta[key];
      if (v === undefined || v === 'none') return v === 'none' ? null : undefined;
      try {
        return JSON.parse(v);
      } catch {
        throw bad(key, "JSON or 'none'");
      }
    },
  };
}

/** The first entry holding NaN or +-Infinity, as "name[index] = value", or null. */
function nonFinite(layout: Layout, region: Float32Array): string | null {
  for (const t of layout.tensors) {
    for (let i = t.offset; i < t.offset + t.size; i++) {
      if (!Number.isFinite(region[i])) return `${t.name}[${i - t.offset}] = ${region[i]}`;
    }
  }
  return null;
}

/**
 * Reads and checks a checkpoint against its model's spec: tensors, metadata (typed and in range),
 * weights finite and matching weights_sha256. The optimizer file beside it matters only to
 * resuming: when it is missing, damaged or from another save, the weights still load, the
 * momentum is null and `warning` says why. `options.model` (a built-in name, a module's path or
 * URL, or a loaded spec) is needed for a model that is not built in, and names the model of a
 * file of tensors only.
 */
export async function readCheckpoint(path: string, options: { model?: string | ModelSpec } = {}): Promise<Checkpoint> {
  const given = typeof options.model === 'string' ? (await loadModel(options.model)).spec : options.model;
  const file = decodeSafetensors(readFileChecked(path, 'checkpoint'), path);
  const meta = file.metadata;
  if (meta.kind !== undefined && Object.values(OPTIMIZER_KIND).includes(meta.kind)) throw new Error(`${path} is an optimizer file; give the model file beside it (${path.replace(/\.optim\.safetensors$/, '.safetensors')})`);
  // Tensors only (what PyTorch's safetensors.torch.save_file(model.state_dict()) writes): weights
  // for the given model, or for the one whose trainable tensors the file holds; step 0, no momentum.
  const tensorsOnly = meta.model === undefined && meta.producer === undefined && meta.step === undefined;
  const spec = tensorsOnly ? given ?? modelHolding(file.tensors, path) : given?.name === meta.model ? given : builtInModel(meta.model ?? '');
  if (!spec) {
    const hint = given ? `; the model given is ${given.name}` : `: give its module (options.model, --model PATH) if it is your own`;
    throw new Error(`${path}: metadata model is ${JSON.stringify(meta.model)}, not a built-in model (${MODEL_NAMES.join(', ')})${hint}`);
  }
  const model = spec.name;
  if (meta.format !== undefined && meta.format !== 'pt') throw new Error(`${path}: metadata format is ${JSON.stringify(meta.format)}; this reads "pt" (PyTorch layouts) only`);
  const m = metadataReader(path, meta);
  const modelOptions: Record<string, number> = {};
  for (const k of Object.keys(spec.options)) {
    const v = m.number(k);
    if (v !== undefined) modelOptions[k] = v;
  }
  const layout = layoutOf(spec);
  const fill = (f: { tensors: readonly NamedTensor[] }, what: string) => {
    const region = new Float32Array(layout.size);
    const byName = new Map(f.tensors.map((t) => [t.name, t]));
    for (const t of layout.tensors) {
      const got = byName.get(t.name);
      const fixed = spec.params.find((p) => p.name === t.name)?.value;
      if (!got && fixed && tensorsOnly) {
        region.set(fixed, t.offset); // a fixed tensor (C3 table, RBF centres) a state_dict leaves out: the model's own
        continue;
      }
      if (!got) throw new Error(`${what}: no tensor ${t.name}; a ${model} checkpoint has ${layout.tensors.map((v) => v.name).join(', ')}`);
      if (got.shape.join(',') !== t.shape.join(',')) {
        throw new Error(`${what}: tensor ${t.name} is [${got.shape.join(', ')}], ${model} needs [${t.shape.join(', ')}]`);
      }
      region.set(got.data, t.offset);
      byName.delete(t.name);
    }
    if (byName.size) throw new Error(`${what}: unexpected tensors ${[...byName.keys()].join(', ')} for a ${model} model`);
    const nf = nonFinite(layout, region);
    if (nf) throw new Error(`${what}: not finite: ${nf}; this file cannot be used, take an earlier checkpoint`);
    return region;
  };
  const weights = fill(file, path);
  const sha = await sha256Hex(new Uint8Array(weights.buffer));
  if (meta.weights_sha256 !== undefined && meta.weights_sha256 !== sha) {
    throw new Error(`${path}: the tensor data does not match its recorded weights_sha256; the file is corrupt`);
  }
  const unfit = fixedMismatch(spec, layout, weights);
  if (unfit) throw new Error(`${path}: ${unfit}; this is not a ${spec.name} checkpoint`);
  if (tensorsOnly) return { model, step: 0, recorded: { model }, weights, state: null, momentum: null, warning: null, metadata: meta };
  const step = m.integer('step', 0, MAX_STEP) ?? 0;
  const recorded: RecordedOptions = {
    model,
    modelOptions,
    seed: m.integer('seed', 0, 0xffffffff),
    batchSize: m.integer('batch_size', 1),
    shards: m.integer('shards', 1),
    // A checkpoint from before these were recorded was trained with sgd and the step schedule.
    optimizer: (meta.optimizer ?? 'sgd') as OptimizerName,
    learningRate: m.number('learning_rate'),
    lrSchedule: (meta.lr_schedule ?? 'step') as LrScheduleName,
    lrDecay: m.number('lr_decay'),
    lrDecayEvery: m.integer('lr_decay_every', 1),
    momentum: m.number('momentum'),
    weightDecay: m.number('weight_decay'),
    beta1: m.number('beta1'),
    beta2: m.number('beta2'),
    epsilon: m.number('epsilon'),
    weightInit: meta.weight_init as RecordedOptions['weightInit'],
    shuffle: m.boolean('shuffle'),
    augment: m.json('augment') as RecordedOptions['augment'],
    epochs: m.integer('epochs', 1),
    limit: m.integer('limit', 1),
  };
  for (const k of Object.keys(recorded) as (keyof RecordedOptions)[]) if (recorded[k] === undefined) delete recorded[k];
  try {
    resolveOptions({}, 1, recorded, { spec, source: spec.name }); // the options' own ranges, checked in one place, here naming the file
  } catch (e) {
    throw new Error(`${path}: metadata out of range: ${(e as Error).message.replace(/^options\./, '')}`, { cause: e });
  }
  const { state, warning } = readOptimizerState(path, meta, recorded.optimizer!, fill);
  return { model, step, recorded, weights, state, momentum: state?.momentum ?? null, warning, metadata: meta };
}

/** The built-in model whose trainable tensors (names and shapes) a tensors-only file holds. */
function modelHolding(tensors: readonly NamedTensor[], path: string): ModelSpec {
  const byName = new Map(tensors.map((t) => [t.name, t.shape.join(',')]));
  const fits = Object.values(BUILT_IN_MODELS).filter(({ params }) => {
    return params.every((p) => !p.trainable || byName.get(p.name) === p.shape.join(',')) && [...byName.keys()].every((n) => params.some((p) => p.name === n));
  });
  if (fits.length === 1) return fits[0];
  throw new Error(`${path}: a file of tensors only (no metadata) whose tensors ${fits.length ? 'fit several models' : 'fit no built-in model'}; give the model (options.model, --model ${MODEL_NAMES.join('|')}|PATH)`);
}

/** The optimizer's state beside a model file, or null with the reason (training then restarts it at zero). */
function readOptimizerState(
  path: string,
  meta: Readonly<Record<string, string>>,
  optimizer: OptimizerName,
  fill: (f: { tensors: readonly NamedTensor[] }, what: string) => Float32Array,
): { state: Record<string, Float32Array> | null; warning: string | null } {
  const optPath = optimizerPath(path);
  const restart = `${optimizer === 'sgd' ? 'momentum restarts' : `${optimizer}'s moments restart`} at zero, so the run will not match an uninterrupted one bit for bit`;
  const names = OPTIMIZER_STATE[optimizer];
  if (!existsSync(optPath)) return { state: null, warning: `no optimizer file ${optPath}: ${restart}` };
  try {
    const opt = decodeSafetensors(readFileChecked(optPath, 'optimizer file'), optPath);
    if (opt.metadata.weights_sha256 !== meta.weights_sha256 || opt.metadata.step !== meta.step) {
      // A save cut between its two renames leaves the new optimizer file beside the old model.
      const which = opt.metadata.step !== meta.step ? `step ${opt.metadata.step}, not ${meta.step}` : 'same step, other weights';
      return { state: null, warning: `${optPath} belongs to another save (${which}): ${restart}` };
    }
    if (opt.metadata.kind !== OPTIMIZER_KIND[optimizer]) {
      return { state: null, warning: `${optPath} holds ${JSON.stringify(opt.metadata.kind)} state, not ${OPTIMIZER_KIND[optimizer]} (the model file's optimizer ${optimizer}): ${restart}` };
    }
    const prefixes = names.map((r) => regionPrefix(optimizer, r));
    const stray = opt.tensors.filter((t) => !prefixes.some((p) => t.name.startsWith(p))).map((t) => t.name);
    if (stray.length) throw new Error(`${optPath}: unexpected tensors ${stray.join(', ')} for ${optimizer}'s state (${prefixes.map((p) => `${p}<tensor>`).join(', ')})`);
    const state: Record<string, Float32Array> = {};
    for (const [k, r] of names.entries()) {
      const own = opt.tensors.filter((t) => t.name.startsWith(prefixes[k])).map((t) => ({ ...t, name: t.name.slice(prefixes[k].length) }));
      state[r] = fill({ tensors: own }, prefixes[k] ? `${optPath} (${r})` : optPath);
      const recorded = opt.metadata[`${r}_sha256`];
      if (recorded !== undefined && recorded !== sha256Sync(state[r])) {
        return { state: null, warning: `${optPath}: the data does not match its recorded ${r}_sha256 (damaged): ${restart}` };
      }
    }
    return { state, warning: null };
  } catch (e) {
    return { state: null, warning: `${(e as Error).message.replace(/; this file cannot be used, take an earlier checkpoint$/, '')}; ${restart}` };
  }
}
