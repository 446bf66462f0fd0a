// Recycling the fast kernels' output arrays. A fresh 600 KB Float32Array costs more (page faults,
// zeroing) than the multiply that fills it: 0.3-0.5 ms against 0.08 ms for a C1-sized tensor.
// Every training step makes the same tensors again, so outputs are taken from a free list of
// arrays whose tensors were disposed, by exact length.
//
// Safety: an array is recycled only if this module allocated it, no live tensor still holds it
// (tensors sharing an array are counted), and no one has read it out with dataSync()/data()
// (readSync marks it escaped for good: user code may keep that array).

const free = new Map<number, Float32Array[]>();
const holders = new WeakMap<Float32Array, number>(); // our arrays -> live tensors holding them
const escaped = new WeakSet<Float32Array>();
const MAX_POOLED_BYTES = 128 * 2 ** 20;
let pooledBytes = 0;

/** An array of n floats, contents unspecified: the kernel must write every element. */
export function take(n: number): Float32Array {
  const list = free.get(n);
  const a = list?.pop();
  if (a) {
    pooledBytes -= a.byteLength;
    holders.set(a, 0);
    return a;
  }
  const fresh = new Float32Array(n);
  holders.set(fresh, 0);
  return fresh;
}

/** A tensor now holds `values`. */
export function held(values: unknown): void {
  const a = values as Float32Array;
  const h = holders.get(a);
  if (h !== undefined) holders.set(a, h + 1);
}

/** A tensor holding `values` was deleted: recycle the array when none is left. */
export function released(values: unknown): void {
  const a = values as Float32Array;
  const h = holders.get(a);
  if (h === undefined) return;
  if (h > 1) {
    holders.set(a, h - 1);
    return;
  }
  holders.delete(a);
  if (escaped.has(a) || pooledBytes + a.byteLength > MAX_POOLED_BYTES) return;
  pooledBytes += a.byteLength;
  const list = free.get(a.length);
  if (list) list.push(a);
  else free.set(a.length, [a]);
}

/** Someone outside the kernels has this array now: never recycle it. */
export function escape(values: unknown): void {
  if (values instanceof Float32Array) escaped.add(values);
}
