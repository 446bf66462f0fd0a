// lenet5-parallel's public API (Node). The command line is not part of it (its dependencies would
// load with it): `lenet5-parallel/cli` exports runCli.
export { createTrainer, Trainer } from './trainer.js';
export { Coordinator, cutShards } from './coordinator.js';
export type { StepEvent, EpochEvent, DoneEvent, TrainEvent, TrainRun, Evaluation, StartState } from './coordinator.js';
export { DEFAULTS, ADAM_LEARNING_RATE, DEFAULT_WEIGHT_DECAY, RANGES, resolveOptions } from './options.js';
export type { TrainerOptions, ResolvedOptions, Range } from './options.js';
export { OPTIMIZERS, LR_SCHEDULES, learningRateAt } from './optimizer.js';
export type { OptimizerName, LrScheduleName, Schedule } from './optimizer.js';
export { defineModel, convParams, denseParams, WEIGHT_INITS, trainableCount, modelOptionsOf } from './model.js';
export type {
  ModelDefinition, ModelSpec, ParamDef, ParamSpec, ModelOptionDef, ModelContext, Augmentation, ImageShape, Params, WeightInit,
} from './model.js';
export { BUILT_IN_MODELS, MODEL_NAMES, loadModel, builtInModel } from './models/index.js';
export type { LoadedModel } from './models/index.js';
export { C3_TABLE } from './models/lenet5-trunk.js';
export { DEFAULT_AUGMENT } from './models/lenet5-input.js';
export type { AugmentOptions } from './models/lenet5-input.js';
// What a model's forward function is written with: tfjs-core (the package's own instance, with
// its gradients registered: a model must not import its own copy) and the layer ops, typed with
// the package's own tensor types (src/tensor.ts says why no declaration here names tfjs-core's).
export { tf, conv2d, dense, avgPool2d, maxPool2d, rbf, softmaxCrossEntropy } from './model-ops.js';
export { ACTIVATIONS } from './ops/activation.js';
export type { Activation } from './ops/activation.js';
export type { Conv2dOptions, DenseOptions, LayerOptions, Pool2dOptions, RbfOptions, SoftmaxCrossEntropyOptions } from './ops/options.js';
export type {
  Tensor, Scalar, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Tensor5D, Tensor6D, Rank, ShapeMap, ArrayMap, DataType, DataTypeMap,
  NumericDataType, TypedArray, TensorLike, TensorContainer, TfOps,
} from './tensor.js';
export { loadMnist, defaultDataDir } from './mnist-files.js';
export { createDataset } from './data.js';
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
export type { WorkerApi, GradientWorker, WorkerHooks } from './worker.js';
