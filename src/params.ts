// The parameter store: every number training shares between threads, in one SharedArrayBuffer,
// with named views at computed offsets (the llm.c way). P = number of floats of all the model's
// tensors, laid out back to back in checkpoint order (so the weights region *is* the checkpoint's
// tensor data, and its SHA-256 is the weights hash):
//
//   header   Int32[4]    [0] version: updates applied so far (the global step); [1] P; [2] S; [3] K
//   weights  F32[P]      read in place by every worker, written only by the coordinator
//   state    F32[K][P]   the optimizer's state, one region per name the creator gives
//                        (optimizer.ts OPTIMIZER_STATE: sgd's `momentum`, the velocity; adam's
//                        and adamw's `exp_avg` and `exp_avg_sq`, the moments); coordinator only
//   grad     F32[P]      the averaged gradient of the last step (coordinator only)
//   slots    F32[S][P]   slot s: the gradient of micro-batch s, written by whichever worker ran it
//
// Workers attach without the state's names: they never read it, and need K only to find the slots.
import type { ParamSpec } from './model.js';

/** What the store needs of a model: its name (for messages) and its tensors in checkpoint order. */
export interface StoreSpec {
  readonly name: string;
  readonly params: readonly Pick<ParamSpec, 'name' | 'shape' | 'trainable'>[];
}

/** Number of elements of a tensor of this shape. */
export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export interface TensorView {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number; // in floats, from the start of a region
  readonly size: number;
  readonly trainable: boolean;
}

export interface Layout {
  readonly tensors: readonly TensorView[];
  readonly size: number; // P
}

export function layoutOf(spec: StoreSpec): Layout {
  let offset = 0;
  const tensors = spec.params.map((p) => {
    const size = sizeOf(p.shape);
    const view = { name: p.name, shape: p.shape, offset, size, trainable: p.trainable };
    offset += size;
    return view;
  });
  return { tensors, size: offset };
}

const HEADER_INTS = 4;

/** The largest step count the store's Int32 header holds. */
export const MAX_STEP = 2 ** 31 - 1;

export class ParamStore {
  readonly layout: Layout;
  readonly shards: number;
  readonly buffer: SharedArrayBuffer;
  readonly weights: Float32Array;
  /** The optimizer's state regions by name; empty in a view attached without their names. */
  readonly state: Readonly<Record<string, Float32Array>>;
  readonly grad: Float32Array;
  private readonly header: Int32Array;
  private readonly slots: Float32Array[];

  /**
   * Allocates a zeroed store for `shards` micro-batch slots and one optimizer-state region per
   * name in `state` (default: SGD's `momentum`).
   */
  static create(spec: StoreSpec, shards: number, state: readonly string[] = ['momentum']): ParamStore {
    if (new Set(state).size !== state.length || state.some((n) => typeof n !== 'string' || n === '')) {
      throw new TypeError(`the optimizer state regions need distinct non-empty names, got ${JSON.stringify(state)}`);
    }
    const layout = layoutOf(spec);
    const bytes = HEADER_INTS * 4 + (2 + state.length + shards) * layout.size * 4;
    const buffer = new SharedArrayBuffer(bytes);
    const header = new Int32Array(buffer, 0, HEADER_INTS);
    header[1] = layout.size;
    header[2] = shards;
    header[3] = state.length;
    return new ParamStore(layout, buffer, state);
  }

  /**
   * Views over a store another thread created; checks it was made for the same model. `state`
   * names the optimizer's regions (their count must match the store's); without it they stay unnamed.
   */
  static attach(spec: StoreSpec, buffer: SharedArrayBuffer, state?: readonly string[]): ParamStore {
    const layout = layoutOf(spec);
    const header = new Int32Array(buffer, 0, HEADER_INTS);
    if (header[1] !== layout.size) {
      throw new Error(`parameter store holds ${header[1]} floats per region but model ${spec.name} needs ${layout.size}`);
    }
    if (state && state.length !== header[3]) throw new Error(`parameter store holds ${header[3]} optimizer state regions, not ${state.length} (${state.join(', ')})`);
    return new ParamStore(layout, buffer, state);
  }

  private constructor(layout: Layout, buffer: SharedArrayBuffer, stateNames?: readonly string[]) {
    this.layout = layout;
    this.buffer = buffer;
    this.header = new Int32Array(buffer, 0, HEADER_INTS);
    this.shards = this.header[2];
    const K = this.header[3];
    const region = (k: number) => new Float32Array(buffer, HEADER_INTS * 4 + k * layout.size * 4, layout.size);
    this.weights = region(0);
    this.state = Object.freeze(Object.fromEntries((stateNames ?? []).map((name, k) => [name, region(1 + k)])));
    this.grad = region(1 + K);
    this.slots = Array.from({ length: this.shards }, (_, s) => region(2 + K + s));
  }

  /** SGD's velocity: the state region `momentum`. */
  get momentum(): Float32Array {
    return this.stateRegion('momentum');
  }

  /** The optimizer's state region `name`. */
  stateRegion(name: string): Float32Array {
    const r = Object.hasOwn(this.state, name) ? this.state[name] : undefined;
    if (!r) {
      const names = Object.keys(this.state);
      throw new Error(`the parameter store has no optimizer state ${name}; ${names.length ? `it holds ${names.join(', ')}` : 'this view was attached without the state names'}`);
    }
    return r;
  }

  slot(s: number): Float32Array {
    if (!(Number.isInteger(s) && s >= 0 && s < this.shards)) throw new RangeError(`slot ${s} is outside 0..${this.shards - 1}`);
    return this.slots[s];
  }

  /** The named tensor's view inside a region (weights, a state region, grad or a slot). */
  view(region: Float32Array, name: string): Float32Array {
    const t = this.layout.tensors.find((v) => v.name === name);
    if (!t) throw new Error(`no tensor ${name}; the model has ${this.layout.tensors.map((v) => v.name).join(', ')}`);
    return region.subarray(t.offset, t.offset + t.size);
  }

  /** Updates applied to the weights so far (at most MAX_STEP: an Int32 in the header); workers check it to know they read the current step's weights. */
  get version(): number {
    return Atomics.load(this.header, 0);
  }

  set version(v: number) {
    Atomics.store(this.header, 0, v);
  }
}
