// Loading the WebAssembly kernels and lending them memory. The module is embedded in the bundle
// (build/kernels-wasm.js holds it as base64), so Node, workers and browsers load it the same way.
// Memory is an arena above the module's static data: each kernel call allocates what it needs
// from the bottom, runs, copies results out, and the next call starts from the bottom again.
import { KERNELS_WASM_BASE64 } from '../../build/kernels-wasm.js';
import { take } from './buffers.js';

export interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  gemm(M: number, N: number, K: number, a: number, rsA: number, csA: number, b: number, ldb: number, c: number, ldc: number): void;
  conv1Forward(x: number, n: number, h: number, w: number, f: number, ldf: number, kh: number, kw: number, o: number, y: number, ld: number): void;
  toPlanar(nhwc: number, P: number, o: number, ld: number, planar: number): void;
  conv1Filter(x: number, n: number, h: number, w: number, dy: number, kh: number, kw: number, o: number, dw: number, ldw: number): void;
  convForward(geo: number, x: number, w: number, ld: number, y: number, scratch: number): void;
  convFilterGrad(geo: number, x: number, dy: number, ld: number, dw: number, scratch: number): void;
  convInputGrad(geo: number, dy: number, ld: number, o: number, wt: number, kPad: number, dx: number, scratch: number): void;
  filterToMatrix(w: number, o: number, c: number, kh: number, kw: number, mask: number, scale: number, dst: number, sr: number, sk: number, floats: number): void;
  filterFromKO(src: number, ld: number, o: number, c: number, kh: number, kw: number, mask: number, scale: number, w: number): void;
  tanh(x: number, y: number, n: number): void;
  biasAct(y: number, n: number, b: number, period: number, alpha: number, act: number): void;
  activate(x: number, y: number, n: number, act: number): void;
  step(x: number, y: number, n: number, alpha: number): void;
  actGrad(dy: number, y: number, out: number, n: number, act: number): void;
  add: BinaryKernel;
  sub: BinaryKernel;
  rsub: BinaryKernel;
  mul: BinaryKernel;
  square(x: number, out: number, n: number): void;
  tanhGrad(dy: number, y: number, out: number, n: number): void;
  copyRows(src: number, srcLd: number, dst: number, dstLd: number, rows: number, cols: number): void;
  sumRows(x: number, rows: number, cols: number, acc: number, out: number): void;
  sumCols(x: number, rows: number, cols: number, out: number): void;
  avgPool(geo: number, x: number, out: number): void;
  avgPoolGrad(geo: number, dy: number, dx: number): void;
  maxPool(geo: number, x: number, out: number): void;
  maxPoolGrad(geo: number, x: number, dy: number, dx: number): void;
  avgPool2(x: number, n: number, h: number, w: number, c: number, out: number): void;
  avgPool2Grad(dy: number, n: number, h: number, w: number, c: number, dx: number): void;
  averageSlots(slots: number, S: number, c: number, n: number, g: number): number;
  sgdStep(g: number, v: number, w: number, vOut: number, wOut: number, n: number, lr: number, mu: number, wd: number): void;
  adamStep(g: number, m: number, v: number, w: number, mOut: number, vOut: number, wOut: number, n: number, l2: number, decay: number, b1: number, c1: number, b2: number, c2: number, stepSize: number, bc2Sqrt: number, eps: number): void;
}

/** out[i] = x[i] op y[i mod period], i < n (elementwise.as.ts). */
type BinaryKernel = (x: number, y: number, period: number, out: number, n: number) => void;

let wasm: KernelExports | null = null;

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  if (typeof Buffer !== 'undefined') return Uint8Array.from(Buffer.from(s, 'base64'));
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export async function initWasm(): Promise<void> {
  if (wasm) return;
  if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))) {
    throw new Error('WebAssembly is not available here; use the stock kernels (kernels: "stock")');
  }
  const bytes = decodeBase64(KERNELS_WASM_BASE64);
  const abort = () => {
    throw new Error('wasm kernel aborted');
  };
  const module = await WebAssembly.compile(bytes);
  const instance = await WebAssembly.instantiate(module, { env: { abort } });
  wasm = instance.exports as unknown as KernelExports;
}

/** True once initWasm() has succeeded in this thread. */
export const wasmReady = () => wasm !== null;

export function kernels(): KernelExports {
  if (!wasm) throw new Error('wasm kernels used before initWasm()');
  return wasm;
}

/** Float offsets handed out by an Arena are 16-byte aligned (SIMD loads prefer it). */
const align4 = (floats: number) => (floats + 3) & ~3;

/**
 * Bump allocation in the wasm memory for one kernel call. Allocate everything first, then take
 * views (growing memory detaches earlier views).
 */
export class Arena {
  private top: number;
  constructor() {
    this.top = align4(Math.ceil(kernels().heapBase() / 4)) * 4;
  }

  /** Reserves `floats` floats; returns the byte pointer. */
  alloc(floats: number): number {
    const ptr = this.top;
    this.top += align4(floats) * 4;
    const mem = kernels().memory;
    if (this.top > mem.buffer.byteLength) mem.grow(Math.ceil((this.top - mem.buffer.byteLength) / 65536));
    return ptr;
  }

  /** Copies `data` in; returns the byte pointer. */
  put(data: Float32Array): number {
    const ptr = this.alloc(data.length);
    this.f32(ptr, data.length).set(data);
    return ptr;
  }

  /** Copies a [rows, cols] matrix in with row stride ld >= cols (extra columns zero). */
  putRows(src: Float32Array, rows: number, cols: number, ld: number): number {
    if (ld === cols) return this.put(src.subarray(0, rows * cols));
    const raw = this.put(src.subarray(0, rows * cols));
    const ptr = this.alloc(rows * ld);
    kernels().copyRows(raw, cols, ptr, ld, rows, cols);
    return ptr;
  }

  /** A [rows, cols] result (row stride ld) copied out into a recycled output array. */
  take(ptr: number, rows: number, cols: number, ld: number): Float32Array {
    const out = take(rows * cols);
    let src = ptr;
    if (ld !== cols) {
      src = this.alloc(rows * cols);
      kernels().copyRows(ptr, ld, src, cols, rows, cols);
    }
    out.set(this.f32(src, rows * cols));
    return out;
  }

  f32(ptr: number, floats: number): Float32Array {
    return new Float32Array(kernels().memory.buffer, ptr, floats);
  }

  i32(ptr: number, count: number): Int32Array {
    return new Int32Array(kernels().memory.buffer, ptr, count);
  }
}
