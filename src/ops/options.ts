// The layer ops' options, apart from the ops: they are part of the public API, whose declarations
// must not reach tfjs-core's (src/tensor.ts says why), and the ops' own files import tfjs-core.
import type { Activation } from './activation.js';

/** What a layer does after its product: y = act(alpha (product) + beta b). */
export interface LayerOptions {
  /** Scales the product before the bias. Default 1. */
  alpha?: number;
  /** Scales the bias. Default 1. */
  beta?: number;
  /** Default 'linear'. */
  activation?: Activation;
  /** Whether x needs a gradient: false for a first layer (its input is the data) saves that work. Default true. */
  inputGrad?: boolean;
}

export interface Conv2dOptions extends LayerOptions {
  /** [o, c] of 0/1: which input channels each output channel reads (the weights elsewhere count as 0). */
  mask?: ArrayLike<number> | null;
  /** Rows and columns between windows: a number or [vertical, horizontal]. Default 1. */
  stride?: number | [number, number];
  /** 'valid' (windows inside the input) or 'same' (zero padding, output ceil(size / stride)). Default 'valid'. */
  padding?: 'valid' | 'same';
}

export type DenseOptions = LayerOptions;

export interface Pool2dOptions {
  /** Rows and columns between windows: a number or [vertical, horizontal]. Default: the window's size. */
  stride?: number | [number, number];
  /** 'valid' (windows inside the input); max pooling also takes 'same' (output ceil(size / stride)). Default 'valid'. */
  padding?: 'valid' | 'same';
}

export interface RbfOptions {
  /** Scales x before the distance. Default 1. */
  alpha?: number;
}

export interface SoftmaxCrossEntropyOptions {
  /** z = scale scores (-1 when lower scores are better, as RBF penalties). Default 1. */
  scale?: number;
  /** The logit of an extra class no sample belongs to ("none of these"). Default: none. */
  reject?: number | null;
  /** 'mean' (a scalar: what training minimises) or 'none' ([n]). Default 'mean'. */
  reduction?: 'mean' | 'none';
}
