// The parameter store: every number training shares between threads, in one shared
// WebAssembly.Memory (a plain SharedArrayBuffer where no shared wasm memory can be made), with
// named views at computed offsets (the llm.c way). P = number of floats of all the model's
// tensors, laid out back to back in checkpoint order (so a weights region *is* the checkpoint's
// tensor data, and its SHA-256 is the weights hash):
//
// (Each region takes P floats rounded up to 4.)
//   reserved bytes [0, STORE_BASE): the WebAssembly kernels' static data, because each thread
//                          instantiates the update kernels on this memory to update in place
//                          (src/kernels/store-kernels.ts); the memory grows past the end for
//                          their scratch
//   header   Int32[4]      [0] version: updates applied so far (the global step); [1] P; [2] S; [3] K
//   weights  F32[2][P]     two copies, by version parity: step v reads copy v % 2 and its update
//                          writes copy (v + 1) % 2, so a step that fails half-way leaves the
//                          weights it started from untouched and can simply run again
//   state    F32[2][K][P]  the optimizer's state, double-buffered the same way, one region per
//                          name the creator gives (optimizer.ts OPTIMIZER_STATE: sgd's `momentum`,
//                          the velocity; adam's and adamw's `exp_avg` and `exp_avg_sq`)
//   grad     F32[P]        the averaged gradient of the last step
//   slots    F32[S][P]     slot s: the gradient of micro-batch s, written by whichever worker ran it
//
// A step's update is split into contiguous ranges of the P floats, one per worker (optimizer.ts
// updateRange); every float's arithmetic is the same whoever computes it.
import type { ParamSpec } from './model.js';
import { PAGE } from './kernels/heap.js';

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

/** Bytes before the header (one wasm page): see the layout above. */
export const STORE_BASE = PAGE;
/** Pages a store's memory may grow by: scratch for the threads that update it in place. */
const GROWTH_PAGES = 256;

/** `bytes` of zeroed shared memory: a WebAssembly.Memory when this runtime has one, else a plain SharedArrayBuffer. */
function sharedMemory(bytes: number): { memory: WebAssembly.Memory | null; buffer: SharedArrayBuffer } {
  const pages = Math.ceil(bytes / PAGE);
  if (typeof WebAssembly !== 'undefined' && pages + GROWTH_PAGES <= 65536) {
    try {
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages + GROWTH_PAGES, shared: true });
      return { memory, buffer: memory.buffer as unknown as SharedArrayBuffer };
    } catch {
      // No shared wasm memory here (or not that much address space): a SharedArrayBuffer does, without the in-place update.
    }
  }
  return { memory: null, buffer: new SharedArrayBuffer(bytes) };
}

/**
 * Floats from one region's start to the next: P rounded up to 4, so that every region starts on
 * 16 bytes (V8 copies shared memory that is not 8-byte aligned several times slower).
 */
const regionFloats = (layout: Layout) => (layout.size + 3) & ~3;

/** The largest step count the store's Int32 header holds. */
export const MAX_STEP = 2 ** 31 - 1;

export class ParamStore {
  readonly layout: Layout;
  readonly shards: number;
  /** The memory the store lives in (null: a plain SharedArrayBuffer); what a worker attaches to is `shared`. */
  readonly memory: WebAssembly.Memory | null;
  /** The bytes of the store, from 0 (STORE_BASE reserved bytes first). */
  readonly buffer: SharedArrayBuffer;
  readonly grad: Float32Array;
  private readonly header: Int32Array;
  private readonly copies: readonly [Float32Array, Float32Array];
  private readonly states: readonly [Readonly<Record<string, Float32Array>>, Readonly<Record<string, Float32Array>>];
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
    const bytes = STORE_BASE + HEADER_INTS * 4 + (3 + 2 * state.length + shards) * regionFloats(layout) * 4;
    const { memory, buffer } = sharedMemory(bytes);
    const header = new Int32Array(buffer, STORE_BASE, HEADER_INTS);
    header[1] = layout.size;
    header[2] = shards;
    header[3] = state.length;
    return new ParamStore(layout, memory, buffer, state);
  }

  /**
   * Views over a store another thread created; checks it was made for the same model. `state`
   * names the optimizer's regions (their count must match the store's); without it they stay unnamed.
   */
  static attach(spec: StoreSpec, shared: WebAssembly.Memory | SharedArrayBuffer, state?: readonly string[]): ParamStore {
    const layout = layoutOf(spec);
    const memory = typeof WebAssembly !== 'undefined' && shared instanceof WebAssembly.Memory ? shared : null;
    const buffer = (memory ? memory.buffer : shared) as SharedArrayBuffer;
    if (typeof SharedArrayBuffer === 'undefined' || !(buffer instanceof SharedArrayBuffer) || buffer.byteLength < STORE_BASE + HEADER_INTS * 4) {
      throw new TypeError('ParamStore.attach needs a store\'s shared memory (ParamStore.shared)');
    }
    const header = new Int32Array(buffer, STORE_BASE, HEADER_INTS);
    if (header[1] !== layout.size) {
      throw new Error(`parameter store holds ${header[1]} floats per region but model ${spec.name} needs ${layout.size}`);
    }
    if (state && state.length !== header[3]) throw new Error(`parameter store holds ${header[3]} optimizer state regions, not ${state.length} (${state.join(', ')})`);
    return new ParamStore(layout, memory, buffer, state);
  }

  private constructor(layout: Layout, memory: WebAssembly.Memory | null, buffer: SharedArrayBuffer, stateNames?: readonly string[]) {
    this.layout = layout;
    this.memory = memory;
    this.buffer = buffer;
    this.header = new Int32Array(buffer, STORE_BASE, HEADER_INTS);
    this.shards = this.header[2];
    const K = this.header[3];
    const region = (k: number) => new Float32Array(buffer, STORE_BASE + HEADER_INTS * 4 + k * regionFloats(layout) * 4, layout.size);
    this.copies = [region(0), region(1)];
    const names = stateNames ?? [];
    const stateOf = (parity: number) => Object.freeze(Object.fromEntries(names.map((name, k) => [name, region(2 + parity * K + k)])));
    this.states = [stateOf(0), stateOf(1)];
    this.grad = region(2 + 2 * K);
    this.slots = Array.from({ length: this.shards }, (_, s) => region(3 + 2 * K + s));
  }

  /** What a worker attaches to (WorkerInit.params): the memory, or the SharedArrayBuffer. */
  get shared(): WebAssembly.Memory | SharedArrayBuffer {
    return this.memory ?? this.buffer;
  }

  /** The weights after `version` updates (the copy of its parity): read by step `version`, written by step `version - 1`. */
  weightsAt(version: number): Float32Array {
    return this.copies[version & 1];
  }

  /** The weights at the current version: what training continues from, what a checkpoint saves. */
  get weights(): Float32Array {
    return this.weightsAt(this.version);
  }

  /** The optimizer's state regions by name at `version`; empty in a view attached without their names. */
  stateAt(version: number): Readonly<Record<string, Float32Array>> {
    return this.states[version & 1];
  }

  /** The optimizer's state regions by name at the current version. */
  get state(): Readonly<Record<string, Float32Array>> {
    return this.stateAt(this.version);
  }

  /** SGD's velocity: the state region `momentum`. */
  get momentum(): Float32Array {
    return this.stateRegion('momentum');
  }

  /** The optimizer's state region `name` at `version` (default: the current one). */
  stateRegion(name: string, version = this.version): Float32Array {
    const state = this.stateAt(version);
    const r = Object.hasOwn(state, name) ? state[name] : undefined;
    if (!r) {
      const names = Object.keys(state);
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

  /**
   * Updates applied to the weights so far (at most MAX_STEP: an Int32 in the header); workers
   * check it to know they read the current step's weights. Setting it switches which copy of the
   * weights and state is current: set the version before writing a fresh store's weights.
   */
  get version(): number {
    return Atomics.load(this.header, 0);
  }

  set version(v: number) {
    Atomics.store(this.header, 0, v);
  }
}
