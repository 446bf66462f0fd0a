// Apart from src/tf.ts so that the options' and protocol's published declarations, which name
// it, do not import tf.ts's, and with them tfjs-core's (src/tensor.ts says why they must not).

/**
 * Which kernels compute the ops: `fast` (this project's kernels, WebAssembly SIMD, registered as
 * their own tfjs backend) or `stock` (tfjs-backend-cpu as published). The model code is the same
 * for both; only the backend behind the ops changes.
 */
export type KernelSet = 'fast' | 'stock';
export const KERNEL_SETS: readonly KernelSet[] = ['fast', 'stock'];
