// Loading the WebAssembly kernels and lending them memory. The module is embedded in the bundle
// (build/kernels-wasm.js holds it as base64), so Node, workers and browsers load it the same way.
// Its memory is blocks (heap.ts): a kernel call's scratch is an Arena of blocks freed when the
// call ends, except those it hands over as output tensors (take), which live on as the tensors'
// values; inputs that are such tensors are read in place (put).
import { KERNELS_WASM_BASE64 } from '../../build/kernels-wasm.js';
import { blockPointer, freshMark, own, settleFresh, take } from './buffers.js';
import { allocBlock, createMemory, f32, freeBlock, i32, setHeapBase } from './heap.js';

export interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  gemm(M: number, N: number, K: number, a: number, rsA: number, csA: number, b: number, ldb: number, c: number, ldc: number): void;
  conv1PanelFloats(): number;
  conv1Forward(x: number, n: number, h: number, w: number, f: number, ldf: number, kh: number, kw: number, o: number, y: number, ld: number, panel: number): void;
  toPlanar(nhwc: number, P: number, o: number, ld: number, planar: number): void;
  conv1Filter(x: number, n: number, h: number, w: number, dy: number, kh: number, kw: number, o: number, dw: number, ldw: number): void;
  convForward(geo: number, x: number, w: number, ld: number, y: number, scratch: number): void;
  convFilterGrad(geo: number, x: number, dy: number, ld: number, dw: number, scratch: number): void;
  convInputGrad(geo: number, dy: number, ld: number, o: number, wt: number, kPad: number, dx: number, scratch: number): void;
  filterToMatrix(w: number, o: number, c: number, kh: number, kw: number, mask: number, scale: number, dst: number, sr: number, sk: number, floats: number): void;
  /** dst[j dR + r] = f32(scale src[r sR + j]): a [R, C] matrix transposed. */
  transpose(src: number, R: number, C: number, sR: number, dst: number, dR: number, scale: number): void;
  filterFromKO(src: number, ld: number, o: number, c: number, kh: number, kw: number, mask: number, scale: number, w: number): void;
  tanh(x: number, y: number, n: number): void;
  biasAct(y: number, n: number, b: number, period: number, alpha: number, act: number): void;
  activate(x: number, y: number, n: number, act: number): void;
  step(x: number, y: number, n: number, alpha: number): void;
  actGrad(dy: number, y: number, out: number, n: number, act: number): void;
  actGradPlanar(dy: number, y: number, P: number, o: number, act: number, planar: number, db: number): void;
  add: BinaryKernel;
  sub: BinaryKernel;
  rsub: BinaryKernel;
  mul: BinaryKernel;
  square(x: number, out: number, n: number): void;
  tanhGrad(dy: number, y: number, out: number, n: number): void;
  copyRows(src: number, srcLd: number, dst: number, dstLd: number, rows: number, cols: number): void;
  sumRows(x: number, rows: number, cols: number, out: number): void;
  sumCols(x: number, rows: number, cols: number, out: number): void;
  avgPool(geo: number, x: number, out: number): void;
  avgPoolGrad(geo: number, dy: number, dx: number): void;
  maxPool(geo: number, x: number, out: number): void;
  maxPoolGrad(geo: number, x: number, dy: number, dx: number): void;
  avgPool2(x: number, n: number, h: number, w: number, c: number, out: number): void;
  avgPool2Grad(dy: number, n: number, h: number, w: number, c: number, dx: number): void;
  /** slots: S byte pointers (i32), c: S doubles. */
  averageSlots(slots: number, S: number, c: number, n: number, g: number): number;
  borderImage(img: number, bytes: number, w: number, h: number, src: number): void;
  resampleRows(src: number, w: number, h: number, out: number, ow: number, oh: number, u0: number, cx: number, cy: number,
    a: number, b: number, d: number, tx: number, ty: number, offset: number, scale: number, divisor: number): void;
  sgdStep(g: number, v: number, w: number, vOut: number, wOut: number, n: number, lr: number, mu: number, wd: number): void;
  adamStep(g: number, m: number, v: number, w: number, mOut: number, vOut: number, wOut: number, n: number, l2: number, decay: number, b1: number, c1: number, b2: number, c2: number, stepSize: number, bc2Sqrt: number, eps: number): void;
}

/** out[i] = x[i] op y[i mod period], i < n (elementwise.as.ts). */
type BinaryKernel = (x: number, y: number, period: number, out: number, n: number) => void;

let wasm: KernelExports | null = null;
let compiled: WebAssembly.Module | null = null;
const abort = () => {
  throw new Error('wasm kernel aborted');
};

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  if (typeof Buffer !== 'undefined') return Uint8Array.from(Buffer.from(s, 'base64'));
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Pages the memory starts with: more than the module's static data (a few KB) needs. */
const INITIAL_PAGES = 64;

export async function initWasm(): Promise<void> {
  if (wasm) return;
  if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))) {
    throw new Error('WebAssembly is not available here; use the stock kernels (kernels: "stock")');
  }
  const module = await WebAssembly.compile(decodeBase64(KERNELS_WASM_BASE64));
  const memory = createMemory(INITIAL_PAGES);
  const instance = await WebAssembly.instantiate(module, { env: { abort, memory } });
  wasm = { ...(instance.exports as unknown as KernelExports), memory };
  compiled = module;
  setHeapBase(wasm.heapBase());
}

/** The compiled module (compiled on first use), for a thread that instantiates it itself (host-check.ts). */
export async function kernelModule(): Promise<WebAssembly.Module> {
  await initWasm();
  return compiled!;
}

/**
 * The kernels instantiated on another memory (synchronously: the module is compiled already), for
 * kernels that work on data living there (store-kernels.ts); null before initWasm(). The module's
 * static data is written below heapBase() of that memory, which the caller must keep free.
 */
export function instantiateOn(memory: WebAssembly.Memory): KernelExports | null {
  if (!compiled) return null;
  const instance = new WebAssembly.Instance(compiled, { env: { abort, memory } });
  return { ...(instance.exports as unknown as KernelExports), memory };
}

/** True once initWasm() has succeeded in this thread. */
export const wasmReady = () => wasm !== null;

export function kernels(): KernelExports {
  if (!wasm) throw new Error('wasm kernels used before initWasm()');
  return wasm;
}

let depth = 0;
const open: Arena[] = [];

/**
 * Runs `f` (a kernel call, or any other user of the wasm memory) with Arenas available; when it
 * ends, however it ends, its Arenas' blocks are freed and outputs no tensor took are too.
 */
export function scoped<T>(f: () => T): T {
  const arenas = open.length;
  const outputs = freshMark();
  depth++;
  try {
    return f();
  } finally {
    depth--;
    while (open.length > arenas) open.pop()!.release();
    settleFresh(outputs);
  }
}

/**
 * One kernel call's scratch in the wasm memory: each alloc is a block of its own, freed when the
 * call's scope ends (scoped), unless take hands it over as an output. Offsets are 16-byte aligned.
 */
export class Arena {
  private readonly blocks: number[] = [];
  constructor() {
    if (depth === 0) throw new Error('Arena used outside scoped(): its blocks would never be freed');
    open.push(this);
  }

  /** Reserves `floats` floats; returns the byte pointer. */
  alloc(floats: number): number {
    const ptr = allocBlock(floats);
    this.blocks.push(ptr);
    return ptr;
  }

  /**
   * The pointer of `data` in the wasm memory: in place when it is a fast kernel's output (read
   * only: it is a live tensor's values), else a copy.
   */
  put(data: Float32Array): number {
    const resident = blockPointer(data);
    if (resident !== undefined) return resident;
    const ptr = this.alloc(data.length);
    f32(ptr, data.length).set(data);
    return ptr;
  }

  /** A [rows, cols] matrix with row stride ld >= cols (extra columns zero). */
  putRows(src: Float32Array, rows: number, cols: number, ld: number): number {
    const whole = src.length === rows * cols ? src : src.subarray(0, rows * cols);
    if (ld === cols) return this.put(whole);
    const raw = this.put(whole);
    const ptr = this.alloc(rows * ld);
    kernels().copyRows(raw, cols, ptr, ld, rows, cols);
    return ptr;
  }

  /** A [rows, cols] result (row stride ld) as an output array: the block itself when it is one of this arena's and ld = cols. */
  take(ptr: number, rows: number, cols: number, ld: number): Float32Array {
    const n = rows * cols;
    const i = ld === cols ? this.blocks.lastIndexOf(ptr) : -1;
    if (i >= 0) {
      this.blocks.splice(i, 1);
      return own(ptr, n);
    }
    const out = take(n);
    kernels().copyRows(ptr, ld, blockPointer(out)!, cols, rows, cols);
    return out;
  }

  f32(ptr: number, floats: number): Float32Array {
    return f32(ptr, floats);
  }

  i32(ptr: number, count: number): Int32Array {
    return i32(ptr, count);
  }

  release(): void {
    for (const ptr of this.blocks) freeBlock(ptr);
    this.blocks.length = 0;
  }
}
