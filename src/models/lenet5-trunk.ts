// What the two LeNet-5 models share (LeCun et al. 1998): the trunk C1-S2-C3-S4-C5-F6 with the
// paper's activation f(a) = A tanh(S a), its tensors in PyTorch's names and layouts, and the
// input (lenet5-input.ts). The heads differ: lenet5.ts (RBF units, the paper's loss) and
// lenet5-softmax.ts (dense + softmax cross-entropy).
//
// Data layout: activations are NHWC (tfjs's convention); weights are stored as PyTorch stores
// them (conv OIHW, dense [out, in]), so a checkpoint is a plain dump. C5, whose 5x5 window covers
// all of S4, is the paper's convolution: the conv op reads its 48,000 weights as stored.
import { avgPool2d, conv2d, dense } from '../model-ops.js';
import type { Tensor2D, Tensor4D } from '../tensor.js';
import type { ModelDefinition, Params, ParamDef } from '../model.js';
import { AUGMENT_RANGES, lenet5Input } from './lenet5-input.js';

/** The paper's C3 connection table: C3 map k reads these S2 maps (LeCun et al. 1998, Table I). */
export const C3_TABLE: readonly (readonly number[])[] = [
  [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 0], [5, 0, 1],
  [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 0], [4, 5, 0, 1], [5, 0, 1, 2],
  [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5], [0, 1, 2, 3, 4, 5],
];

/** The paper's activation f(a) = A tanh(S a). */
export const F_A = 1.7159;
export const F_S = 2 / 3;

const repeat = (n: number, v: number) => new Array<number>(n).fill(v);

/** C3's mask [out 16, in 6]: the table, or all ones for a full C3. */
function c3Mask(full: boolean): Float32Array {
  const mask = new Float32Array(16 * 6);
  for (let o = 0; o < 16; o++) for (let i = 0; i < 6; i++) mask[o * 6 + i] = full || C3_TABLE[o].includes(i) ? 1 : 0;
  return mask;
}

/**
 * The trunk's tensors in checkpoint order; `table`: C3 follows the paper's connection table
 * (its fan-ins 3, 4 or 6 maps of 5x5), else it is full. The mask is stored either way.
 */
export function trunkParams(table: boolean): ParamDef[] {
  const c3Fan = table ? C3_TABLE.map((maps) => maps.length * 25) : repeat(16, 6 * 25);
  return [
    { name: 'c1.weight', shape: [6, 1, 5, 5], fanIn: 25 },
    { name: 'c1.bias', shape: [6], fanIn: 25 },
    { name: 'c3.weight', shape: [16, 6, 5, 5], fanIn: c3Fan, ...(table ? { mask: 'c3.mask' } : {}) },
    { name: 'c3.bias', shape: [16], fanIn: c3Fan },
    { name: 'c3.mask', shape: [16, 6], value: c3Mask(!table) },
    { name: 'c5.weight', shape: [120, 16, 5, 5], fanIn: 400 },
    { name: 'c5.bias', shape: [120], fanIn: 400 },
    { name: 'f6.weight', shape: [84, 120], fanIn: 120 },
    { name: 'f6.bias', shape: [84], fanIn: 120 },
  ];
}

/**
 * x: [n, 32, 32, 1] -> F6's t [n, 84], where F6's output is A t. Each layer computes
 * f(W x + b) = A tanh(S (W x + b)), one layer op each (src/ops/). The constants ride on the ops'
 * scalars instead of on tensors: a layer keeps t = tanh(S (W x) + S b), and the next layer, which
 * sees A t (pooling and convolution are linear), scales its own W x by A S. test/gradients.test.ts
 * checks the function against a direct float64 implementation.
 */
export function trunk(p: Params, x: Tensor4D, table: boolean): Tensor2D {
  const AS = F_A * F_S;
  const layer = (alpha: number) => ({ alpha, beta: F_S, activation: 'tanh' as const });
  const mask = table ? p['c3.mask'].dataSync() : null;
  const c1 = conv2d(x, p['c1.weight'], p['c1.bias'], { ...layer(F_S), inputGrad: false });   // [n, 28, 28, 6]
  const s2 = avgPool2d(c1, 2);                                                               // [n, 14, 14, 6]
  const c3 = conv2d(s2, p['c3.weight'], p['c3.bias'], { ...layer(AS), mask });               // [n, 10, 10, 16]
  const s4 = avgPool2d(c3, 2);                                                               // [n, 5, 5, 16]
  const c5 = conv2d(s4, p['c5.weight'], p['c5.bias'], layer(AS));                            // [n, 1, 1, 120]
  return dense(c5, p['f6.weight'], p['f6.bias'], layer(AS));                                 // [n, 84]
}

/** The parts of a definition both models have: images, classes, input, distortions. */
export const LENET5_DATA = {
  image: [28, 28, 1],
  input: [32, 32, 1],
  classes: 10,
  prepare: lenet5Input,
  augment: AUGMENT_RANGES,
} as const satisfies Partial<ModelDefinition>;
