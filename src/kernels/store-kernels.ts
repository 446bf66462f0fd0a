// The update kernels on the parameter store's own memory (params.ts): each thread instantiates the
// module a second time, on the store's shared WebAssembly.Memory, so that a worker averages the
// gradient slots and updates its range of the weights and optimizer state where they are. (The
// fast kernels' own memory, heap.ts, is the thread's; the store is every thread's. Copying a
// range in and out of the thread's memory cost more than the arithmetic.)
//
// The memory's first STORE_BASE bytes are kept free for the module's static data, which every
// instantiation writes (the same bytes each time); a thread's scratch (the averaging's slot
// pointers and coefficients) is pages it adds to the memory, which no other thread touches.
import { STORE_BASE } from '../params.js';
import { PAGE } from './heap.js';
import { instantiateOn, kernels, wasmReady, type KernelExports } from './wasm.js';

export interface StoreKernels {
  readonly exports: KernelExports;
  /** This thread's scratch for S slot pointers (i32) and S coefficients (f64), with their byte pointers; null if the memory cannot grow. */
  scratch(S: number): { pointers: Int32Array; ptrs: number; coefficients: Float64Array; cs: number } | null;
}

const made = new WeakMap<WebAssembly.Memory, StoreKernels | null>();

/**
 * The update kernels on `memory` for this thread, or null where they cannot run in place (no wasm
 * kernels in this thread, or static data past STORE_BASE): the caller then copies into the
 * thread's own memory. Each thread that asks grows the memory once for its scratch (pages never
 * given back, up to params.ts GROWTH_PAGES in all: past that, scratch() is null and the averaging
 * copies; the update itself needs no scratch).
 */
export function storeKernels(memory: WebAssembly.Memory): StoreKernels | null {
  if (made.has(memory)) return made.get(memory)!;
  let found: StoreKernels | null = null;
  if (wasmReady() && kernels().heapBase() <= STORE_BASE) {
    const exports = instantiateOn(memory);
    let pages = 0;
    let base = 0;
    found = exports && {
      exports,
      scratch(S) {
        const bytes = 12 * S; // S doubles, then S i32
        if (bytes > pages * PAGE) {
          const more = Math.ceil(bytes / PAGE);
          try {
            base = memory.grow(more) * PAGE; // pages no other thread is given
          } catch {
            return null; // past the memory's maximum
          }
          pages = more;
        }
        const buffer = memory.buffer;
        return { coefficients: new Float64Array(buffer, base, S), cs: base, pointers: new Int32Array(buffer, base + 8 * S, S), ptrs: base + 8 * S };
      },
    };
  }
  made.set(memory, found);
  return found;
}
