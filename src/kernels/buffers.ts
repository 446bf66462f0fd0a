// Recycling the fast kernels' output arrays. A fresh 600 KB Float32Array costs more (page faults,
// zeroing) than the multiply that fills it: 0.3-0.5 ms against 0.08 ms for a C1-sized tensor.
// Every training step makes the same tensors again, so outputs are taken from a free list of
// arrays whose tensors were disposed, by exact length.
//
// Safety: an array is recycled only if this module allocated it, no live tensor still holds it or
// a view of it, and no one has read it out with dataSync()/data() (readSync marks it escaped for
// good: user code may keep that array). Holders are counted per ArrayBuffer, not per array:
// tfjs's Slice (and Split, Unstack, which slice) returns a subarray of its input's values, so a
// slice of our output is a second holder of the same buffer, and disposing the original must not
// hand its memory to the next kernel while the slice lives.

const free = new Map<number, Float32Array[]>();
const ours = new WeakMap<ArrayBufferLike, Float32Array>(); // buffer -> the array take() made on it
const holders = new WeakMap<ArrayBufferLike, number>(); // -> live tensors holding it or a view of it
const escaped = new WeakSet<ArrayBufferLike>();
const MAX_POOLED_BYTES = 128 * 2 ** 20;
let pooledBytes = 0;

/** An array of n floats, contents unspecified: the kernel must write every element. */
export function take(n: number): Float32Array {
  const list = free.get(n);
  const a = list?.pop();
  if (a) {
    pooledBytes -= a.byteLength;
    holders.set(a.buffer, 0);
    return a;
  }
  const fresh = new Float32Array(n);
  ours.set(fresh.buffer, fresh);
  holders.set(fresh.buffer, 0);
  return fresh;
}

const bufferOf = (values: unknown) => (ArrayBuffer.isView(values) ? values.buffer : undefined);

/** A tensor now holds `values`. */
export function held(values: unknown): void {
  const b = bufferOf(values);
  const h = b && holders.get(b);
  if (h !== undefined) holders.set(b!, h + 1);
}

/** A tensor holding `values` was deleted: recycle the array when none is left. */
export function released(values: unknown): void {
  const b = bufferOf(values);
  const h = b && holders.get(b);
  if (h === undefined) return;
  if (h > 1) {
    holders.set(b!, h - 1);
    return;
  }
  holders.delete(b!);
  const a = ours.get(b!)!;
  if (escaped.has(b!) || pooledBytes + a.byteLength > MAX_POOLED_BYTES) return;
  pooledBytes += a.byteLength;
  const list = free.get(a.length);
  if (list) list.push(a);
  else free.set(a.length, [a]);
}

/** Someone outside the kernels has this array (or a view of its buffer) now: never recycle it. */
export function escape(values: unknown): void {
  const b = bufferOf(values);
  if (b) escaped.add(b);
}
