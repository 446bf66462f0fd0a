// The kernels this project overrides on its `fast` backend, and their one-time set-up.
import { CONV_KERNELS } from './conv.js';
import { ELEMENTWISE_KERNELS } from './elementwise.js';
import { LAYER_CONV2D_KERNELS } from './layer-conv2d.js';
import { LAYER_DENSE_KERNELS } from './layer-dense.js';
import { MATMUL_KERNELS } from './matmul.js';
import { POOL_KERNELS } from './pool.js';
import { REDUCE_KERNELS } from './reduce.js';
import type { FastKernel } from './util.js';
import { initWasm } from './wasm.js';

export const FAST_KERNELS: readonly FastKernel[] = [
  ...CONV_KERNELS,
  ...MATMUL_KERNELS,
  ...POOL_KERNELS,
  ...ELEMENTWISE_KERNELS,
  ...REDUCE_KERNELS,
  ...LAYER_CONV2D_KERNELS,
  ...LAYER_DENSE_KERNELS,
];

export const initFastKernels = initWasm;
