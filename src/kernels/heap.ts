// The wasm memory as blocks. Every fast kernel's scratch (an Arena, wasm.ts) and every fast kernel
// output tensor (buffers.ts) lives in a block, so a kernel reads its inputs and writes its outputs
// where they already are: no copy into the module's memory before a call and none out after it.
//
// The memory is a shared WebAssembly.Memory, for one reason: growing a shared memory does not
// detach the views already made of it (a plain memory's buffer is replaced, and every tensor
// holding a view of it would lose its values). It is never shared between threads: each thread
// instantiates the module on a memory of its own.
//
// Blocks come in size classes, eight per doubling (at most 1/8 more than asked for), each class
// with a free list: a training step asks for the same sizes every time, and sizes that vary
// (prediction on batches of every size) reuse one another's blocks. Memory is never returned to
// the system; it is the high-water mark of blocks in use at once. Pointers are byte offsets.

/** Reserved address space: 4 GiB (every page is committed only when first used); 1 GiB as a fallback. */
const MAX_PAGES = [65536, 16384];
/** Bytes in a WebAssembly memory page. */
export const PAGE = 65536;

let memory: WebAssembly.Memory | null = null;
let buffer: SharedArrayBuffer | null = null;
/** Every SharedArrayBuffer the memory has had (one per growth): views of any of them are ours. */
const buffers = new WeakSet<ArrayBufferLike>();
let top = 0; // bytes: nothing at or above it is handed out
const free = new Map<number, number[]>(); // capacity in floats -> free block pointers
const capacity = new Map<number, number>(); // block pointer -> capacity in floats, negative while free

/** The module's memory: made once per thread, before the module is instantiated on it. */
export function createMemory(initialPages: number): WebAssembly.Memory {
  if (memory) return memory;
  if (typeof SharedArrayBuffer === 'undefined') {
    throw new Error('the fast kernels need SharedArrayBuffer (in a browser: a cross-origin isolated page); use the stock kernels (kernels: "stock")');
  }
  let made: WebAssembly.Memory | null = null;
  for (const maximum of MAX_PAGES) {
    try {
      made = new WebAssembly.Memory({ initial: initialPages, maximum, shared: true });
      break;
    } catch (e) {
      if (maximum === MAX_PAGES[MAX_PAGES.length - 1]) throw e;
    }
  }
  memory = made!;
  refresh();
  return memory;
}

/** Blocks start at `base` (the module's heap base, rounded up to 16 bytes). */
export function setHeapBase(base: number): void {
  top = Math.max(top, (base + 15) & ~15);
}

function refresh(): void {
  buffer = memory!.buffer as unknown as SharedArrayBuffer;
  buffers.add(buffer);
}

/** Floats a block for `floats` floats holds: 16 at least, then 8 classes per doubling, multiples of 4. */
export function sizeClass(floats: number): number {
  if (floats <= 16) return 16;
  const step = 1 << (28 - Math.clz32(floats)); // 2^(k-3) for 2^k <= floats < 2^(k+1): 8 to 16 steps a block
  return (Math.ceil(floats / step) * step + 3) & ~3;
}

/** A block of at least `floats` floats (contents unspecified); returns its pointer (16-byte aligned). */
export function allocBlock(floats: number): number {
  const cap = sizeClass(floats);
  const ptr = free.get(cap)?.pop();
  if (ptr !== undefined) {
    capacity.set(ptr, cap);
    return ptr;
  }
  const at = top;
  const end = at + cap * 4;
  const have = memory!.buffer.byteLength;
  if (end > have) {
    memory!.grow(Math.ceil((end - have) / PAGE)); // throws past the maximum, leaving the heap as it was
    refresh();
  }
  top = end;
  capacity.set(at, cap);
  return at;
}

export function freeBlock(ptr: number): void {
  const cap = capacity.get(ptr);
  if (cap === undefined || cap < 0) throw new Error(`heap: block ${ptr} freed twice or never allocated`);
  capacity.set(ptr, -cap);
  const list = free.get(cap);
  if (list) list.push(ptr);
  else free.set(cap, [ptr]);
}

export function f32(ptr: number, floats: number): Float32Array {
  return new Float32Array(buffer!, ptr, floats);
}

export function i32(ptr: number, count: number): Int32Array {
  return new Int32Array(buffer!, ptr, count);
}

export function f64(ptr: number, count: number): Float64Array {
  return new Float64Array(buffer!, ptr, count);
}

export function u8(ptr: number, count: number): Uint8Array {
  return new Uint8Array(buffer!, ptr, count);
}

/** True for any view of the wasm memory (ours, or a subarray of ours). */
export const inHeap = (values: unknown): boolean => ArrayBuffer.isView(values) && buffers.has(values.buffer);

/** Bytes of blocks in use and in free lists (for tests and the curious). */
export function heapStats(): { used: number; free: number } {
  let used = 0;
  let idle = 0;
  for (const cap of capacity.values()) {
    if (cap > 0) used += cap * 4;
    else idle -= cap * 4;
  }
  return { used, free: idle };
}
