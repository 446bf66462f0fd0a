// What the layer ops' portable kernels share: reading the cpu backend's tensors, and the
// gradient registration of a layer (x, weight, bias -> y) whose backward kernel takes dy, x, the
// weight and the saved output y, and returns [dx, dweight, dbias] in one call.
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { checkActivation, type Activation } from './activation.js';
import type { LayerOptions } from './options.js';

export type { LayerOptions };

/** The kernels' attributes: every option filled in. */
export interface LayerAttrs {
  alpha: number;
  beta: number;
  activation: Activation;
  inputGrad: boolean;
  [key: string]: unknown;
}

export function layerAttrs(o: LayerOptions, op: string): LayerAttrs {
  return { alpha: o.alpha ?? 1, beta: o.beta ?? 1, activation: checkActivation(o.activation ?? 'linear', op), inputGrad: o.inputGrad ?? true };
}

export type Args = { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs?: tf.NamedAttrMap };
export const cpuOf = (args: Args) => args.backend as MathBackendCPU;
export const vals = (args: Args, t: tf.TensorInfo) => cpuOf(args).data.get(t.dataId).values as Float32Array;

/** Runs tfjs-backend-cpu's own kernel `name` (what the portable kernels are built on). */
export function stockKernel(name: string, args: Args, inputs: Record<string, tf.TensorInfo>, attrs: tf.NamedAttrMap): tf.TensorInfo {
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`tfjs-backend-cpu has no ${name} kernel`);
  return k.kernelFunc({ inputs, backend: args.backend as tf.KernelBackend, attrs }) as tf.TensorInfo;
}

export function layerGradient(op: string, kernelName: string, gradKernel: string, weight: string): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['x', weight],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, w, y] = saved;
      const [dx, dw, db] = tf.engine().runKernel(gradKernel, { dy: dy as tf.Tensor, x, [weight]: w, y }, attrs) as tf.Tensor[];
      return {
        x: () => {
          if (!(attrs as { inputGrad?: boolean }).inputGrad) throw new Error(`${op}: the input needs a gradient, but the op was called with inputGrad: false`);
          return dx;
        },
        [weight]: () => dw,
        bias: () => db,
      };
    },
  };
}
