// A small ReLU CNN for MNIST, written as a user writes a model: a module whose default export is
// a definition. Train it with
//
//   lenet5 train --model examples/models/cnn.js --epochs 8
//
// Its PyTorch twin (the checkpoint's tensor names and layouts load into it with load_state_dict):
//
//   class Cnn(nn.Module):
//       def __init__(self):
//           super().__init__()
//           self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
//           self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
//           self.fc1 = nn.Linear(7 * 7 * 32, 128)
//           self.fc2 = nn.Linear(128, 10)
//       def forward(self, x):                       # x: [n, 1, 28, 28], normalised as prepare() does
//           x = F.max_pool2d(F.relu(self.conv1(x)), 2)
//           x = F.max_pool2d(F.relu(self.conv2(x)), 2)
//           x = x.permute(0, 2, 3, 1).flatten(1)    # our activations are NHWC: flatten in that order
//           return self.fc2(F.relu(self.fc1(x)))
import { conv2d, convParams, defineModel, dense, denseParams, maxPool2d } from 'lenet5-parallel';

export default defineModel({
  name: 'mnist-cnn',
  image: [28, 28, 1], // [H, W, C] of the data's images (bytes)
  classes: 10,
  params: [...convParams('conv1', 1, 16, 3), ...convParams('conv2', 16, 32, 3), ...denseParams('fc1', 7 * 7 * 32, 128), ...denseParams('fc2', 128, 10)],
  // Training images move by up to maxShift whole pixels: prepare() gets { ranges, random } for them.
  augment: { maxShift: { default: 2, max: 4 } },
  prepare(image, out, augment) { // bytes [28, 28, 1] -> floats [28, 28, 1]
    const shift = () => (augment ? Math.round((2 * augment.random() - 1) * augment.ranges.maxShift) : 0);
    const dx = shift(), dy = shift();
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) {
        const sy = y - dy, sx = x - dx;
        const p = sy >= 0 && sy < 28 && sx >= 0 && sx < 28 ? image[sy * 28 + sx] : 0;
        out[y * 28 + x] = (p / 255 - 0.1307) / 0.3081; // MNIST's mean and deviation, as PyTorch's examples
      }
  },
  forward(p, x) {
    const relu = { activation: 'relu', padding: 'same' };
    const c1 = conv2d(x, p['conv1.weight'], p['conv1.bias'], { ...relu, inputGrad: false }); // [n, 28, 28, 16]; x is data
    const s1 = maxPool2d(c1, 2); //                                       [n, 14, 14, 16]
    const c2 = conv2d(s1, p['conv2.weight'], p['conv2.bias'], relu); // [n, 14, 14, 32]
    const s2 = maxPool2d(c2, 2); //                                       [n, 7, 7, 32]
    const f1 = dense(s2, p['fc1.weight'], p['fc1.bias'], { activation: 'relu' }); // [n, 128]
    return dense(f1, p['fc2.weight'], p['fc2.bias']); //                  [n, 10] logits
  },
  defaults: { learningRate: 0.05 },
});
