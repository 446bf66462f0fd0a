// `lenet5 predict CKPT IMAGE.png`: classifies a picture of a digit (any size, grey or colour).
import { readFileChecked } from '../files.js';
import { PNG } from 'pngjs';
import { createTrainer } from '../trainer.js';
import { inlinePool } from '../pools/inline.js';
import { toMnistDigit } from '../digit-image.js';
import { NUM_CLASSES } from '../data.js';
import { posterior, UNRECOGNISED } from '../model.js';

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

export async function predictCommand(checkpoint: string, image: string, flags: { json: boolean }): Promise<number> {
  const { gray, width, height } = readPngGray(image);
  const digit = toMnistDigit(gray, width, height);
  if (digit.every((v) => v === 0)) throw new Error(`${image}: no digit found (the image is blank)`);
  // The image itself stands in as the dataset: nothing else is read.
  const ds = { images: digit, labels: new Uint8Array(1), count: 1, source: image };
  const trainer = await createTrainer({ init: checkpoint, data: { train: ds, test: ds }, workers: 1, shards: 1, batchSize: 1, pool: inlinePool });
  try {
    const { scores, predicted } = await trainer.predict(digit);
    const lenet5 = trainer.options.model === 'lenet5'; // scores: RBF penalties, else logits
    const { probabilities, none } = posterior(trainer.spec, scores);
    const best = predicted[0];
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ type: 'predict', image, model: trainer.options.model, digit: best, scores: Array.from(scores), probabilities, none })}\n`);
    } else {
      // lenet5's posterior keeps a share for "none of these": when it dominates, say so.
      process.stdout.write(`${image}: ${best}${none >= UNRECOGNISED ? ` (unsure: none of these ${(100 * none).toFixed(2)}%)` : ''}\n`);
      process.stdout.write(`digit  ${lenet5 ? 'RBF penalty' : 'logit'}  probability\n`);
      for (let i = 0; i < NUM_CLASSES; i++) {
        process.stdout.write(`${i === best ? '>' : ' '} ${i}  ${scores[i].toFixed(3).padStart(10)}  ${(100 * probabilities[i]).toFixed(2).padStart(9)}%\n`);
      }
      if (lenet5) process.stdout.write(`  none of these     ${(100 * none).toFixed(2).padStart(9)}%\n`);
    }
  } finally {
    await trainer.close();
  }
  return 0;
}
