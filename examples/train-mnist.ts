// The main job, and what `npm start` runs: LeNet-5 as the paper describes it, on the full MNIST,
// on every core, with defaults chosen to end at or below 1.0% test error (15 epochs, lr 0.01
// halved every 3 epochs, momentum 0.9, random affine distortions). It is `lenet5 train`: any of
// its flags work here too, e.g. `npm start -- --epochs 1` or `npm start -- --model lenet5-softmax`.
//
// What it shows: a progress bar (loss, samples/s, ETA), the test error after each epoch, and at
// the end the test error, the wall time, the checkpoint path and the weights' SHA-256. The run
// folder (runs/<model>-<date>-<time>/) keeps the checkpoint, metrics.jsonl and training.svg.
// Ctrl-C stops after the current step and saves; `--init <checkpoint>` resumes.
import { runCli } from 'lenet5-parallel/cli';

process.exitCode = await runCli(['train', ...process.argv.slice(2)]);
