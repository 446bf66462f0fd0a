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

export { tf };

registerLayerOps();

/**
 * Which kernels compute the ops: `fast` (this project's kernels, WebAssembly SIMD, registered as
 * their own tfjs backend) or `stock` (tfjs-backend-cpu as published). The model code is the same
 * for both; only the backend behind the ops changes.
 */
export type KernelSet = 'fast' | 'stock';
export const KERNEL_SETS: readonly KernelSet[] = ['fast', 'stock'];

// Quiet tfjs's console advice (about tfjs-node) and kernel re-registration notices.
tf.env().set('PROD', true);

/** Selects the kernels for every later op in this thread. */
export async function useKernels(kernels: KernelSet): Promise<void> {
  const name = kernels === 'fast' ? await registerFastBackend() : 'cpu';
  if (tf.getBackend() !== name) {
    if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} failed to initialise`);
  }
}
