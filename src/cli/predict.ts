// `lenet5 predict CKPT IMAGE.png`: classifies a picture of a digit (any size, grey or colour).
import { readFileChecked } from '../files.js';
import { PNG } from 'pngjs';
import { createTrainer } from '../trainer.js';
import { inlinePool } from '../pools/inline.js';
import { toMnistDigit } from '../digit-image.js';
import { builtInModel, loadModel } from '../models/index.js';
import { UNRECOGNISED } from '../model.js';


/** Decodes a PNG into grey levels 0..255 (transparent areas count as white paper). */
export function readPngGray(path: string): { gray: Float32Array; width: number; height: number } {
  const bytes = readFileChecked(path, 'image');
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes));
  } catch (e) {
    throw new Error(`${path}: not a readable PNG image (${(e as Error).message})`);
  }
  const { width, height, data } = png;
  const gray = new Float32Array(width * height);
  for (let i = 0; i < width * height; i++) {
    const a = data[4 * i + 3] / 255;
    const luma = 0.299 * data[4 * i] + 0.587 * data[4 * i + 1] + 0.114 * data[4 * i + 2];
    gray[i] = a * luma + (1 - a) * 255;
  }
  return { gray, width, height };
}

export async function predictCommand(checkpoint: string, image: string, flags: { model?: string; json: boolean }): Promise<number> {
  const { gray, width, height } = readPngGray(image);
  // The picture becomes an MNIST-style digit: the model must read those.
  if (flags.model && !builtInModel(flags.model)) {
    const { spec } = await loadModel(flags.model, '--model');
    if (spec.image.join(',') !== '28,28,1') throw new Error(`lenet5 predict draws MNIST-style 28x28 digits; model ${spec.name} reads ${spec.image.join('x')} images`);
  }
  const digit = toMnistDigit(gray, width, height);
  if (digit.every((v) => v === 0)) throw new Error(`${image}: no digit found (the image is blank)`);
  // The image itself stands in as the dataset: nothing else is read.
  const ds = { images: digit, labels: new Uint8Array(1), count: 1, shape: [28, 28, 1] as const, source: image };
  const trainer = await createTrainer({ init: checkpoint, model: flags.model, data: { train: ds, test: ds }, workers: 1, shards: 1, batchSize: 1, pool: inlinePool });
  try {
    const { scores, predicted } = await trainer.predict(digit);
    const spec = trainer.spec;
    const { probabilities, none } = spec.probabilities(scores, { options: trainer.options.modelOptions });
    const best = predicted[0];
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ type: 'predict', image, model: trainer.options.model, digit: best, scores: Array.from(scores), probabilities, none })}\n`);
    } else {
      // A posterior with a share for "none of these" (lenet5's): when it dominates, say so.
      process.stdout.write(`${image}: ${best}${none >= UNRECOGNISED ? ` (unsure: none of these ${(100 * none).toFixed(2)}%)` : ''}\n`);
      process.stdout.write(`class  ${spec.scoreName.padStart(11)}  probability\n`);
      for (let i = 0; i < spec.classes; i++) {
        process.stdout.write(`${i === best ? '>' : ' '} ${String(i).padStart(3)}  ${scores[i].toFixed(3).padStart(11)}  ${(100 * probabilities[i]).toFixed(2).padStart(9)}%\n`);
      }
      if (none > 0) process.stdout.write(`  none of these      ${(100 * none).toFixed(2).padStart(9)}%\n`);
    }
  } finally {
    await trainer.close();
  }
  return 0;
}
