import { test } from 'vitest';
import { profileStep } from '../src/profile.js';
import { loadMnist } from '../src/mnist-files.js';
test('prof', async () => {
  const m = loadMnist();
  for (const model of ['lenet5-softmax', 'lenet5'] as const) {
    const p = await profileStep(model, 'fast', m.train, 32, 5);
    console.log(model, p.stepMs.toFixed(1), '\n' + p.byKernel.filter(k=>!k.kernel.endsWith('__op')).map(k => `${k.kernel.padEnd(24)} ${String(k.calls).padStart(3)} ${k.ms.toFixed(2).padStart(9)} ${(k.share*100).toFixed(1)}%`).join('\n'));
  }
}, 600000);
