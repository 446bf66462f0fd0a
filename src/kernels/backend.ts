// The `fast` kernel set, as a tfjs backend of its own: a MathBackendCPU (same tensor storage) with
// every stock cpu kernel, except those this project implements faster (see FAST_KERNELS).
// Keeping the stock `cpu` backend untouched lets tests run the same ops on both and compare.
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { FAST_KERNELS, initFastKernels } from './index.js';

export const FAST_BACKEND = 'lenet5-fast';

let registered: Promise<string> | null = null;

/** Registers the fast backend once per thread; resolves to its name. */
export function registerFastBackend(): Promise<string> {
  registered ??= (async () => {
    await initFastKernels();
    const mine = new Set(FAST_KERNELS.map((k) => k.kernelName));
    // Priority 0: below tfjs's own cpu (1), so tfjs never picks it unless asked.
    tf.registerBackend(FAST_BACKEND, () => new MathBackendCPU(), 0);
    for (const k of tf.getKernelsForBackend('cpu')) {
      if (!mine.has(k.kernelName)) tf.registerKernel({ ...k, backendName: FAST_BACKEND });
    }
    for (const k of FAST_KERNELS) tf.registerKernel({ ...k, backendName: FAST_BACKEND } as tf.KernelConfig);
    return FAST_BACKEND;
  })();
  return registered;
}
