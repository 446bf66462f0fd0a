// The layer ops: what models are built from, each one tfjs kernel forward and one backward.
// Their portable kernels are registered on tfjs's `cpu` backend here, once per thread, with
// their gradients (the fast backend copies cpu's kernels and then puts its own over them,
// src/kernels/backend.ts); importing src/tf.ts does it.
import * as tf from '@tensorflow/tfjs-core';
import { CONV2D_CPU_KERNELS, CONV2D_GRADIENT } from './conv2d.js';
import { DENSE_CPU_KERNELS, DENSE_GRADIENT } from './dense.js';
import { LOSS_KERNELS, RBF_GRADIENT, SOFTMAX_CE_GRADIENT } from './loss.js';
import { POOL2D_CPU_KERNELS, POOL2D_GRADIENTS } from './pool2d.js';

export { conv2d, type Conv2dOptions } from './conv2d.js';
export { dense, type DenseOptions } from './dense.js';
export { avgPool2d, maxPool2d, type Pool2dOptions } from './pool2d.js';
export { rbf, softmaxCrossEntropy, type RbfOptions, type SoftmaxCrossEntropyOptions } from './loss.js';
export { ACTIVATIONS, type Activation } from './activation.js';

const PORTABLE_KERNELS = [...CONV2D_CPU_KERNELS, ...DENSE_CPU_KERNELS, ...POOL2D_CPU_KERNELS, ...LOSS_KERNELS];

/** The layer ops' kernel names: this project's own, never a stock tfjs kernel (src/kernels/fallbacks.ts). */
export const LAYER_OP_KERNELS: ReadonlySet<string> = new Set(PORTABLE_KERNELS.map((k) => k.kernelName));

export function registerLayerOps(): void {
  for (const k of PORTABLE_KERNELS) tf.registerKernel({ ...k, backendName: 'cpu' } as tf.KernelConfig);
  for (const g of [CONV2D_GRADIENT, DENSE_GRADIENT, ...POOL2D_GRADIENTS, RBF_GRADIENT, SOFTMAX_CE_GRADIENT]) tf.registerGradient(g);
}
