// The one place that loads tfjs-core. tfjs-core registers no gradient functions by itself, and
// its `register_all_gradients` module is ESM with extension-less imports that plain Node cannot
// resolve: this file is therefore always bundled (esbuild, see scripts/build.mjs) or transformed
// (vitest, see vitest.config.ts) before it runs. test/gradients.test.ts proves, in a worker
// thread as users run it, that the gradients are there.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { registerFastBackend } from './kernels/backend.js';
import { registerLayerOps } from './ops/index.js';
import type { KernelSet } from './kernel-set.js';

export { tf };
export { KERNEL_SETS, type KernelSet } from './kernel-set.js';

registerLayerOps();

// Quiet tfjs's console advice (about tfjs-node) and kernel re-registration notices.
tf.env().set('PROD', true);

/** Selects the kernels for every later op in this thread. */
export async function useKernels(kernels: KernelSet): Promise<void> {
  const name = kernels === 'fast' ? await registerFastBackend() : 'cpu';
  if (tf.getBackend() !== name) {
    if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} failed to initialise`);
  }
}
