// lenet5-parallel's public API (Node). The command line is not part of it (its dependencies would
// load with it): `lenet5-parallel/cli` exports runCli.
export { createTrainer, Trainer } from './trainer.js';
export { Coordinator, cutShards } from './coordinator.js';
export type { StepEvent, EpochEvent, DoneEvent, TrainEvent, TrainRun, Evaluation, StartState } from './coordinator.js';
export { DEFAULTS, DEFAULT_LEARNING_RATE, ADAM_LEARNING_RATE, DEFAULT_WEIGHT_DECAY, DEFAULT_WEIGHT_INIT, RANGES, resolveOptions } from './options.js';
export type { TrainerOptions, ResolvedOptions, Range } from './options.js';
export { OPTIMIZERS, LR_SCHEDULES, learningRateAt } from './optimizer.js';
export type { OptimizerName, LrScheduleName, Schedule } from './optimizer.js';
export { MODEL_NAMES, C3_TABLE, WEIGHT_INITS, createModel, trainableCount } from './model.js';
export type { ModelName, ModelSpec, ParamSpec, WeightInit } from './model.js';
export { DEFAULT_AUGMENT } from './augment.js';
export type { AugmentOptions } from './augment.js';
export { loadMnist, defaultDataDir } from './mnist-files.js';
export type { Dataset, Mnist } from './data.js';
export { readCheckpoint, writeCheckpoint, optimizerPath } from './checkpoint.js';
export type { Checkpoint } from './checkpoint.js';
export { createPiscinaPool, piscinaPool } from './pools/piscina.js';
export { inlinePool } from './pools/inline.js';
export type { WorkerPool, PoolFactory, WorkerInit, Task, Result } from './protocol.js';
export { createComlinkPool } from './pools/comlink.js';
export type { SpawnedWorker } from './pools/comlink.js';
export { comlinkNodePool, createComlinkNodePool } from './pools/comlink-node.js';
export { workerApi, createWorker } from './worker.js';
export type { WorkerApi, GradientWorker } from './worker.js';
