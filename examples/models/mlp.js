// A two-layer perceptron for MNIST: the smallest useful model file. Train it with
//
//   lenet5 train --model examples/models/mlp.js --epochs 3
//
// Its PyTorch twin: nn.Sequential(OrderedDict(fc1=nn.Linear(784, 256), relu=nn.ReLU(),
// fc2=nn.Linear(256, 10))) over x.flatten(1) / 255, x: [n, 1, 28, 28] bytes.
import { defineModel, dense, denseParams } from 'lenet5-parallel';

export default defineModel({
  name: 'mnist-mlp',
  image: [28, 28, 1],
  classes: 10,
  params: [...denseParams('fc1', 28 * 28, 256), ...denseParams('fc2', 256, 10)],
  // The default prepare(): pixel p -> p / 255.
  forward(p, x) {
    const h = dense(x, p['fc1.weight'], p['fc1.bias'], { activation: 'relu', inputGrad: false }); // [n, 256]; x is data
    return dense(h, p['fc2.weight'], p['fc2.bias']); //                            [n, 10] logits
  },
  defaults: { learningRate: 0.05 },
});
