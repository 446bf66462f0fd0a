// The `fast` kernel set, as a tfjs backend of its own: a MathBackendCPU (same tensor storage) with
// every stock cpu kernel, except those this project implements faster (see FAST_KERNELS); the
// stock ones that do arithmetic are counted when they run (fallbacks.ts).
// Keeping the stock `cpu` backend untouched lets tests run the same ops on both and compare.
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { FAST_KERNELS, initFastKernels } from './index.js';
import { TANH_GRAD } from './elementwise.js';
import { adopt, adoptCopy, blockPointer, released } from './buffers.js';
import { inHeap } from './heap.js';
import { scoped } from './wasm.js';
import { counts, recordFallback } from './fallbacks.js';
import { LAYER_OP_KERNELS } from '../ops/index.js';
import type { KernelArgs } from './util.js';

export const FAST_BACKEND = 'lenet5-fast';

/** Floats from which write() moves a new tensor's values into the wasm memory (below, a block costs more than the copies it saves). */
const RESIDENT_MIN = 256;

/**
 * MathBackendCPU, plus the bookkeeping of outputs that live in the wasm memory (buffers.ts): no
 * view of it is stored but ours, none leaves but as a copy, and a block is freed with its last tensor.
 */
class FastBackend extends MathBackendCPU {
  /**
   * A tensor made from JS values (tf.tensor: a batch, the weights) of a size worth it gets them
   * copied into the wasm memory here, once, rather than by every kernel that reads them.
   */
  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId {
    const copy = values instanceof Float32Array && values.length >= RESIDENT_MIN && blockPointer(values) === undefined && !inHeap(values);
    return super.write(copy ? adoptCopy(values) : adopt(values), shape, dtype);
  }

  override move(dataId: tf.DataId, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    super.move(dataId, adopt(values), shape, dtype, refCount);
  }

  override readSync(dataId: tf.DataId): tf.backend_util.BackendValues {
    const values = super.readSync(dataId);
    return inHeap(values) ? (values as Float32Array).slice() : values;
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const deleted = super.disposeData(dataId, force);
    if (deleted && values && !this.data.has(dataId)) released(values);
    return deleted;
  }
}

/**
 * Copies a float32 tensor's values into `dst` (no intermediate array on the fast backend, where
 * dataSync would copy them out of the wasm memory first).
 */
export function readInto(t: tf.Tensor, dst: Float32Array): void {
  const b = tf.backend();
  dst.set(b instanceof FastBackend ? (b.data.get(t.dataId)!.values as Float32Array) : (t.dataSync() as Float32Array));
}

/**
 * tanh's gradient, (1 - y^2) dy: tfjs's own registration computes it as square, subtract and
 * multiply, three passes over each activation tensor; on this backend it is one kernel with the
 * same rounding (so the same bits). Any other backend gets tfjs's formula, op for op. Gradients
 * are registered per tfjs instance, not per backend, hence the check when the gradient runs.
 */
function registerTanhGradient(): void {
  const tfjs = tf.getGradient(tf.Tanh);
  if (!tfjs) throw new Error('tfjs-core has no gradient for Tanh: were its gradients loaded (src/tf.ts)?');
  tf.registerGradient({
    ...tfjs,
    gradFunc: (dy, saved, attrs) => {
      if (tf.getBackend() !== FAST_BACKEND) return tfjs.gradFunc(dy, saved, attrs);
      const [y] = saved;
      return { x: () => tf.engine().runKernel(TANH_GRAD, { dy: dy as tf.Tensor, y }) as tf.Tensor };
    },
  });
}

let registered: Promise<string> | null = null;

/** Registers the fast backend once per thread; resolves to its name. */
export function registerFastBackend(): Promise<string> {
  registered ??= (async () => {
    await initFastKernels();
    const mine = new Set(FAST_KERNELS.map((k) => k.kernelName));
    // Priority 0: below tfjs's own cpu (1), so tfjs never picks it unless asked.
    tf.registerBackend(FAST_BACKEND, () => new FastBackend(), 0);
    for (const k of tf.getKernelsForBackend('cpu')) {
      if (mine.has(k.kernelName)) continue;
      // The layer ops' portable kernels are this project's own (the losses, on [n, classes]
      // tensors, have no other): not counted.
      const kernelFunc: tf.KernelFunc = counts(k.kernelName) && !LAYER_OP_KERNELS.has(k.kernelName)
        ? (args) => {
            recordFallback(k.kernelName, args.inputs as Record<string, tf.TensorInfo>);
            return k.kernelFunc(args);
          }
        : k.kernelFunc;
      tf.registerKernel({ ...k, backendName: FAST_BACKEND, kernelFunc });
    }
    // Each call in a scope: its scratch blocks are freed when it returns or throws.
    for (const k of FAST_KERNELS) {
      const f = k.kernelFunc;
      tf.registerKernel({ ...k, backendName: FAST_BACKEND, kernelFunc: (args: Parameters<tf.KernelFunc>[0]) => scoped(() => f(args as KernelArgs)) } as tf.KernelConfig);
    }
    registerTanhGradient();
    return FAST_BACKEND;
  })();
  return registered;
}
