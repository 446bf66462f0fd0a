// lenet5-softmax: the common modern reproduction of LeNet-5: the same trunk with a full C3 and a
// dense 84 -> 10 output (logits) with softmax cross-entropy. PyTorch's initialisation by default:
// with the paper's bound and a softmax head the signal is so small that the model sits at chance
// for its first ~550 steps (--weight-init paper keeps the paper's recipe).
import { defineModel } from '../model.js';
import { dense } from '../model-ops.js';
import { F_A, LENET5_DATA, trunk, trunkParams } from './lenet5-trunk.js';

export default defineModel({
  name: 'lenet5-softmax',
  ...LENET5_DATA,
  params: [
    ...trunkParams(false),
    { name: 'out.weight', shape: [10, 84], fanIn: 84 },
    { name: 'out.bias', shape: [10], fanIn: 84 },
  ],
  // x: [n, 32, 32, 1] -> logits [n, 10].
  forward: (p, x) => dense(trunk(p, x, false), p['out.weight'], p['out.bias'], { alpha: F_A }),
  defaults: { learningRate: 0.05, weightInit: 'pytorch' },
});
