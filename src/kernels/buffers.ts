// The fast kernels' output arrays: views of blocks of the wasm memory (heap.ts), so the next
// kernel reads them where they are. A block returns to its free list when the last tensor holding
// its view is disposed; a training step makes the same tensors again and gets the same blocks.
//
// Safety: a block is freed only when no live tensor holds its view (tensors sharing one are
// counted). No view of the wasm memory leaves the backend: readSync copies (backend.ts), and a
// tensor made of a view that is not one of ours (tfjs's Slice, Split and Unstack return
// subarrays of their input's values) gets a copy of it (adopt), so it never outlives its block.
import { allocBlock, f32, freeBlock, inHeap } from './heap.js';

const blockOf = new WeakMap<Float32Array, number>(); // our views -> their block
const holders = new Map<number, number>(); // block -> live tensors holding its view
/** Views made during the kernel call in progress (scope, wasm.ts): freed at its end if no tensor took them. */
const fresh: Float32Array[] = [];

/** An array of n floats in the wasm memory, contents unspecified: the kernel must write every element. */
export function take(n: number): Float32Array {
  return own(allocBlock(n), n);
}

/** The view of n floats of block `ptr`, from now on an output array (take's, or an Arena block handed over). */
export function own(ptr: number, n: number): Float32Array {
  const view = f32(ptr, n);
  blockOf.set(view, ptr);
  holders.set(ptr, 0);
  fresh.push(view);
  return view;
}

/** The block of one of our output arrays, or undefined (any other array). */
export const blockPointer = (values: unknown): number | undefined => blockOf.get(values as Float32Array);

/** What a tensor about to hold `values` should hold: `values` (counted if ours), or a copy of a view of the wasm memory that is not ours. */
export function adopt<T>(values: T): T {
  const ptr = blockOf.get(values as Float32Array);
  if (ptr !== undefined) {
    holders.set(ptr, holders.get(ptr)! + 1);
    return values;
  }
  return inHeap(values) ? ((values as Float32Array).slice() as T) : values;
}

/**
 * A copy of `values` (not a view of the wasm memory) in a block of its own, held by the tensor
 * about to be made of it: the kernels then read it in place instead of copying it in at each use.
 */
export function adoptCopy(values: Float32Array): Float32Array {
  const ptr = allocBlock(values.length);
  const view = f32(ptr, values.length);
  view.set(values);
  blockOf.set(view, ptr);
  holders.set(ptr, 1);
  return view;
}

/** A tensor holding `values` was deleted: free its block when none is left. */
export function released(values: unknown): void {
  const ptr = blockOf.get(values as Float32Array);
  if (ptr === undefined) return;
  const h = holders.get(ptr)!;
  if (h > 1) {
    holders.set(ptr, h - 1);
    return;
  }
  drop(values as Float32Array, ptr);
}

function drop(view: Float32Array, ptr: number): void {
  holders.delete(ptr);
  blockOf.delete(view);
  freeBlock(ptr);
}

/** Marks the start of a kernel call's outputs. */
export const freshMark = () => fresh.length;

/** At the end of a kernel call: frees the arrays made since `mark` that no tensor took (a kernel that threw). */
export function settleFresh(mark: number): void {
  while (fresh.length > mark) {
    const view = fresh.pop()!;
    const ptr = blockOf.get(view);
    if (ptr !== undefined && holders.get(ptr) === 0) drop(view, ptr);
  }
}
