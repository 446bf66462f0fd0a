// Shared plumbing of the fast kernels: reading inputs, making outputs, and falling back to the
// stock cpu kernel for any case a fast kernel does not handle (so the fast backend is complete).
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { recordFallback } from './fallbacks.js';

export type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs?: tf.NamedAttrMap };
export type FastKernel = { kernelName: string; kernelFunc: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[] };

export function cpu(args: KernelArgs): MathBackendCPU {
  return args.backend as MathBackendCPU;
}

/** The float32 values of a tensor, in place (no copy). */
export function values(args: KernelArgs, t: tf.TensorInfo): Float32Array {
  return cpu(args).data.get(t.dataId).values as Float32Array;
}

export function output(args: KernelArgs, shape: number[], vals: Float32Array): tf.TensorInfo {
  return cpu(args).makeTensorInfo(shape, 'float32', vals);
}

/** Runs the stock tfjs-backend-cpu kernel of the same name (counted: fallbacks.ts). */
export function stock(name: string, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  recordFallback(name, args.inputs);
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`tfjs-backend-cpu has no ${name} kernel`);
  return k.kernelFunc(args as Parameters<tf.KernelFunc>[0]);
}

export { sizeOf } from '../params.js';
export const roundUp4 = (n: number) => (n + 3) & ~3;
