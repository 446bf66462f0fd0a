// The parameter store: every number training shares between threads, in one SharedArrayBuffer,
// with named views at computed offsets (the llm.c way). P = number of floats of all the model's
// tensors, laid out back to back in checkpoint order (so the weights region *is* the checkpoint's
// tensor data, and its SHA-256 is the weights hash):
//
//   header   Int32[4]    [0] version: updates applied so far (the global step); [1] P; [2] S
//   weights  F32[P]      read in place by every worker, written only by the coordinator
//   momentum F32[P]      SGD velocity (coordinator only)
//   grad     F32[P]      the averaged gradient of the last step (coordinator only)
//   slots    F32[S][P]   slot s: the gradient of micro-batch s, written by whichever worker ran it
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
  readonly momentum: Float32Array;
  readonly grad: Float32Array;
  private readonly header: Int32Array;
  private readonly slots: Float32Array[];

  /** Allocates a zeroed store for `shards` micro-batch slots. */
  static create(spec: StoreSpec, shards: number): ParamStore {
    const layout = layoutOf(spec);
    const bytes = HEADER_INTS * 4 + (3 + shards) * layout.size * 4;
    const store = new ParamStore(layout, shards, new SharedArrayBuffer(bytes));
    store.header[1] = layout.size;
    store.header[2] = shards;
    return store;
  }

  /** Views over a store another thread created; checks it was made for the same model and S. */
  static attach(spec: StoreSpec, buffer: SharedArrayBuffer): ParamStore {
    const layout = layoutOf(spec);
    const header = new Int32Array(buffer, 0, HEADER_INTS);
    if (header[1] !== layout.size) {
      throw new Error(`parameter store holds ${header[1]} floats per region but model ${spec.name} needs ${layout.size}`);
    }
    return new ParamStore(layout, header[2], buffer);
  }

  private constructor(layout: Layout, shards: number, buffer: SharedArrayBuffer) {
    this.layout = layout;
    this.shards = shards;
    this.buffer = buffer;
    this.header = new Int32Array(buffer, 0, HEADER_INTS);
    const region = (k: number) => new Float32Array(buffer, HEADER_INTS * 4 + k * layout.size * 4, layout.size);
    this.weights = region(0);
    this.momentum = region(1);
    this.grad = region(2);
    this.slots = Array.from({ length: shards }, (_, s) => region(3 + s));
  }

  slot(s: number): Float32Array {
    if (!(Number.isInteger(s) && s >= 0 && s < this.shards)) throw new RangeError(`slot ${s} is outside 0..${this.shards - 1}`);
    return this.slots[s];
  }

  /** The named tensor's view inside a region (weights, momentum, grad or a slot). */
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
