// lenet5: LeNet-5 as LeCun et al. 1998 describe it (SPEC.md, Models): the trunk with C3's
// connection table, and 10 Euclidean RBF output units with fixed centres (digits.ts), the
// prediction being the class of least penalty. Loss (eq. 9): y_label + log(exp(-j) + sum_i
// exp(-y_i)), a softmax cross-entropy over -y with an extra "none of these" logit -j.
import { defineModel, softmax, type ModelContext } from '../model.js';
import { rbf, softmaxCrossEntropy } from '../model-ops.js';
import { digitCentres } from './digits.js';
import { F_A, LENET5_DATA, trunk, trunkParams } from './lenet5-trunk.js';

export default defineModel({
  name: 'lenet5',
  ...LENET5_DATA,
  params: [...trunkParams(true), { name: 'rbf.centers', shape: [10, 84], value: digitCentres() }],
  // x: [n, 32, 32, 1] -> RBF penalties y_i = sum_j (f6_j - c_ij)^2 [n, 10]: lower is better.
  forward: (p, x) => rbf(trunk(p, x, true), p['rbf.centers'], { alpha: F_A }),
  loss: (scores, oneHot, reduction, { options }) => softmaxCrossEntropy(scores, oneHot, { scale: -1, reject: -options.j, reduction }),
  predict: 'argmin',
  probabilities: posterior,
  scoreName: 'RBF penalty',
  options: { j: { default: 0.1, min: 0, max: 1000, description: "the loss's constant j: the logit of 'none of these' is -j" } },
  defaults: { learningRate: 0.01, weightInit: 'paper' },
});

/**
 * The paper's posterior: P(i) = exp(-y_i) / (exp(-j) + sum_k exp(-y_k)), the rest being "none of
 * these". A perfect match (penalty 0) gets at most 1 / (1 + exp(-j)), ~52% at j = 0.1.
 */
export function posterior(scores: ArrayLike<number>, { options }: ModelContext): { probabilities: number[]; none: number } {
  return softmax(Array.from(scores, (v) => -v), -options.j);
}
