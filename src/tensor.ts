// The tensor types of the public API, and `TfOps`, the type under which the package exports
// tfjs-core (`tf`) to model code. Types only: at run time every tensor is a tfjs-core tensor and
// `tf` is tfjs-core itself.
//
// Why our own: the published declarations must type-check in a user's strict project without
// skipLibCheck, under the TypeScript `npm install typescript` gives (7) as under 5.9.
// tfjs-core's own .d.ts files do not: they use a global `Long` that only an automatically
// included @types/long declares (TypeScript 7 includes no @types package unless `types` lists
// it), and its tensor.d.ts and types.d.ts reference @webgpu/types, whose GPU* declarations
// clash with the ones TypeScript 7's lib.dom.d.ts now has (and which need the DOM lib at all).
// Any import of tfjs-core from a published .d.ts would pull those files into the user's
// program, so the public surface names only what is declared here.
//
// The interfaces are structural subsets of tfjs-core's: a tfjs-core tensor is assignable to
// `Tensor` (the runtime hands tfjs tensors to a model's forward), and src/model-ops.ts assigns
// tfjs-core to `TfOps` without a cast, so the compiler checks every signature here against
// tfjs-core's. Names, generics and argument orders follow tfjs-core's, so its documentation applies.

/** Number of dimensions. */
export type Rank = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/** A tensor's shape by rank (a scalar's is `[]`, typed number[] as tfjs-core types it). */
export interface ShapeMap {
  0: number[];
  1: [number];
  2: [number, number];
  3: [number, number, number];
  4: [number, number, number, number];
  5: [number, number, number, number, number];
  6: [number, number, number, number, number, number];
}

/** A tensor's values as nested arrays, by rank. */
export interface ArrayMap {
  0: number;
  1: number[];
  2: number[][];
  3: number[][][];
  4: number[][][][];
  5: number[][][][][];
  6: number[][][][][][];
}

export interface DataTypeMap {
  float32: Float32Array;
  int32: Int32Array;
  bool: Uint8Array;
  complex64: Float32Array;
  string: string[];
}
export type DataType = keyof DataTypeMap;
export type NumericDataType = 'float32' | 'int32' | 'bool' | 'complex64';
export type TypedArray = Float32Array | Int32Array | Uint8Array;

export interface RecursiveArray<T> {
  [index: number]: T | RecursiveArray<T>;
}
/** What an op takes in place of a tensor: numbers, nested arrays, typed arrays. */
export type TensorLike = TypedArray | number | boolean | string | RecursiveArray<number | number[] | TypedArray> | RecursiveArray<boolean> | RecursiveArray<string> | Uint8Array[];
export type TensorLike1D = TypedArray | number[] | boolean[] | string[] | Uint8Array[];
export type TensorLike2D = TypedArray | number[] | number[][] | boolean[] | boolean[][] | string[] | string[][] | Uint8Array[] | Uint8Array[][];
export type TensorLike3D = TypedArray | number[] | number[][][] | boolean[] | boolean[][][] | string[] | string[][][] | Uint8Array[] | Uint8Array[][][];
export type TensorLike4D = TypedArray | number[] | number[][][][] | boolean[] | boolean[][][][] | string[] | string[][][][] | Uint8Array[] | Uint8Array[][][][];

/** A tfjs-core tensor, as the public API sees it. */
export interface Tensor<R extends Rank = Rank> {
  readonly id: number;
  readonly shape: ShapeMap[R];
  readonly size: number;
  readonly dtype: DataType;
  readonly rank: number;
  readonly isDisposed: boolean;
  array(): Promise<ArrayMap[R]>;
  arraySync(): ArrayMap[R];
  data<D extends DataType = NumericDataType>(): Promise<DataTypeMap[D]>;
  dataSync<D extends DataType = NumericDataType>(): DataTypeMap[D];
  dispose(): void;
  print(verbose?: boolean): void;
  toString(verbose?: boolean): string;
}
export type Scalar = Tensor<0>;
export type Tensor1D = Tensor<1>;
export type Tensor2D = Tensor<2>;
export type Tensor3D = Tensor<3>;
export type Tensor4D = Tensor<4>;
export type Tensor5D = Tensor<5>;
export type Tensor6D = Tensor<6>;

/** What tidy() may return (and dispose() takes): tensors, nested in arrays and objects, or plain values. */
export type TensorContainer = void | Tensor | string | number | boolean | TensorContainerObject | TensorContainerArray | Float32Array | Int32Array | Uint8Array;
export interface TensorContainerObject {
  [x: string]: TensorContainer;
}
export interface TensorContainerArray extends Array<TensorContainer> {}

/** Explicit zero padding of an NHWC tensor: [[0, 0], [top, bottom], [left, right], [0, 0]]. */
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];
type Padding = 'valid' | 'same' | number | ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil';

/**
 * The tfjs-core ops a model's forward function (or loss) is written with, typed as tfjs-core
 * types them. At run time `tf` is the whole of tfjs-core 4 (the package's own instance, with
 * its gradients registered); an op missing here is still there, reachable with a cast. Random
 * ops are left out on purpose: their draws come from Math.random or a seed of their own, not
 * from the trainer's seeded streams, and would break the same-weights-bit-for-bit promise.
 */
export interface TfOps {
  // ---- creation
  tensor<R extends Rank>(values: TensorLike, shape?: ShapeMap[R], dtype?: DataType): Tensor<R>;
  scalar(value: number | boolean | string | Uint8Array, dtype?: DataType): Scalar;
  tensor1d(values: TensorLike1D, dtype?: DataType): Tensor1D;
  tensor2d(values: TensorLike2D, shape?: [number, number], dtype?: DataType): Tensor2D;
  tensor3d(values: TensorLike3D, shape?: [number, number, number], dtype?: DataType): Tensor3D;
  tensor4d(values: TensorLike4D, shape?: [number, number, number, number], dtype?: DataType): Tensor4D;
  zeros<R extends Rank>(shape: ShapeMap[R], dtype?: DataType): Tensor<R>;
  ones<R extends Rank>(shape: ShapeMap[R], dtype?: DataType): Tensor<R>;
  fill<R extends Rank>(shape: ShapeMap[R], value: number | string, dtype?: DataType): Tensor<R>;
  zerosLike<T extends Tensor>(x: T | TensorLike): T;
  onesLike<T extends Tensor>(x: T | TensorLike): T;
  range(start: number, stop: number, step?: number, dtype?: 'float32' | 'int32'): Tensor1D;
  linspace(start: number, stop: number, num: number): Tensor1D;
  clone<T extends Tensor>(x: T | TensorLike): T;
  oneHot(indices: Tensor | TensorLike, depth: number, onValue?: number, offValue?: number, dtype?: DataType): Tensor;
  eye(numRows: number, numColumns?: number, batchShape?: [number] | [number, number] | [number, number, number] | [number, number, number, number], dtype?: DataType): Tensor2D;

  // ---- element-wise, one input
  neg<T extends Tensor>(x: T | TensorLike): T;
  abs<T extends Tensor>(x: T | TensorLike): T;
  sign<T extends Tensor>(x: T | TensorLike): T;
  exp<T extends Tensor>(x: T | TensorLike): T;
  expm1<T extends Tensor>(x: T | TensorLike): T;
  log<T extends Tensor>(x: T | TensorLike): T;
  log1p<T extends Tensor>(x: T | TensorLike): T;
  sqrt<T extends Tensor>(x: T | TensorLike): T;
  rsqrt<T extends Tensor>(x: T | TensorLike): T;
  square<T extends Tensor>(x: T | TensorLike): T;
  reciprocal<T extends Tensor>(x: T | TensorLike): T;
  floor<T extends Tensor>(x: T | TensorLike): T;
  ceil<T extends Tensor>(x: T | TensorLike): T;
  round<T extends Tensor>(x: T | TensorLike): T;
  sin<T extends Tensor>(x: T | TensorLike): T;
  cos<T extends Tensor>(x: T | TensorLike): T;
  erf<T extends Tensor>(x: T | TensorLike): T;
  isNaN<T extends Tensor>(x: T | TensorLike): T;
  cast<T extends Tensor>(x: T | TensorLike, dtype: DataType): T;
  clipByValue<T extends Tensor>(x: T | TensorLike, clipValueMin: number, clipValueMax: number): T;

  // ---- activations
  relu<T extends Tensor>(x: T | TensorLike): T;
  relu6<T extends Tensor>(x: T | TensorLike): T;
  leakyRelu<T extends Tensor>(x: T | TensorLike, alpha?: number): T;
  prelu<T extends Tensor>(x: T | TensorLike, alpha: T | TensorLike): T;
  elu<T extends Tensor>(x: T | TensorLike): T;
  selu<T extends Tensor>(x: T | TensorLike): T;
  sigmoid<T extends Tensor>(x: T | TensorLike): T;
  logSigmoid<T extends Tensor>(x: T | TensorLike): T;
  tanh<T extends Tensor>(x: T | TensorLike): T;
  softplus<T extends Tensor>(x: T | TensorLike): T;
  step<T extends Tensor>(x: T | TensorLike, alpha?: number): T;
  softmax<T extends Tensor>(logits: T | TensorLike, dim?: number): T;
  logSoftmax<T extends Tensor>(logits: T | TensorLike, axis?: number): T;

  // ---- element-wise, two inputs (broadcasting)
  add<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  sub<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  mul<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  div<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  divNoNan<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  floorDiv<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  mod<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  pow<T extends Tensor>(base: Tensor | TensorLike, exp: Tensor | TensorLike): T;
  maximum<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  minimum<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  squaredDifference<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  addN<T extends Tensor>(tensors: Array<T | TensorLike>): T;

  // ---- comparisons and logic (bool results)
  equal<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  notEqual<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  greater<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  greaterEqual<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  less<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  lessEqual<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  logicalAnd<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  logicalOr<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
  logicalNot<T extends Tensor>(x: T | TensorLike): T;
  where<T extends Tensor>(condition: Tensor | TensorLike, a: T | TensorLike, b: T | TensorLike): T;

  // ---- reductions
  sum<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): T;
  mean<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): T;
  max<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): T;
  min<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): T;
  prod<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): T;
  logSumExp<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): T;
  all<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): T;
  any<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): T;
  argMax<T extends Tensor>(x: Tensor | TensorLike, axis?: number): T;
  argMin<T extends Tensor>(x: Tensor | TensorLike, axis?: number): T;
  cumsum<T extends Tensor>(x: Tensor | TensorLike, axis?: number, exclusive?: boolean, reverse?: boolean): T;
  norm(x: Tensor | TensorLike, ord?: number | 'euclidean' | 'fro', axis?: number | number[], keepDims?: boolean): Tensor;
  moments(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): { mean: Tensor; variance: Tensor };

  // ---- shapes
  reshape<R extends Rank>(x: Tensor | TensorLike, shape: ShapeMap[R]): Tensor<R>;
  transpose<T extends Tensor>(x: T | TensorLike, perm?: number[], conjugate?: boolean): T;
  expandDims<T extends Tensor>(x: Tensor | TensorLike, axis?: number): T;
  squeeze<T extends Tensor>(x: Tensor | TensorLike, axis?: number[]): T;
  broadcastTo<R extends Rank>(x: Tensor | TensorLike, shape: ShapeMap[R]): Tensor<R>;
  concat<T extends Tensor>(tensors: Array<T | TensorLike>, axis?: number): T;
  stack<T extends Tensor>(tensors: Array<T | TensorLike>, axis?: number): Tensor;
  unstack(x: Tensor | TensorLike, axis?: number): Tensor[];
  split<T extends Tensor>(x: Tensor | TensorLike, numOrSizeSplits: number[] | number, axis?: number): T[];
  slice<R extends Rank, T extends Tensor<R>>(x: T | TensorLike, begin: number | number[], size?: number | number[]): T;
  pad<T extends Tensor>(x: T | TensorLike, paddings: Array<[number, number]>, constantValue?: number): T;
  tile<T extends Tensor>(x: T | TensorLike, reps: number[]): T;
  gather<T extends Tensor>(x: T | TensorLike, indices: Tensor | TensorLike, axis?: number, batchDims?: number): T;
  reverse<T extends Tensor>(x: T | TensorLike, axis?: number | number[]): T;

  // ---- products
  matMul<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike, transposeA?: boolean, transposeB?: boolean): T;
  dot(t1: Tensor | TensorLike, t2: Tensor | TensorLike): Tensor;
  outerProduct(v1: Tensor1D | TensorLike, v2: Tensor1D | TensorLike): Tensor2D;

  // ---- convolution, pooling, normalisation (NHWC)
  conv1d<T extends Tensor2D | Tensor3D>(x: T | TensorLike, filter: Tensor3D | TensorLike, stride: number, pad: Padding, dataFormat?: 'NWC' | 'NCW', dilation?: number, dimRoundingMode?: Rounding): T;
  conv2d<T extends Tensor3D | Tensor4D>(x: T | TensorLike, filter: Tensor4D | TensorLike, strides: [number, number] | number, pad: Padding, dataFormat?: 'NHWC' | 'NCHW', dilations?: [number, number] | number, dimRoundingMode?: Rounding): T;
  depthwiseConv2d<T extends Tensor3D | Tensor4D>(x: T | TensorLike, filter: Tensor4D | TensorLike, strides: [number, number] | number, pad: Padding, dataFormat?: 'NHWC' | 'NCHW', dilations?: [number, number] | number, dimRoundingMode?: Rounding): T;
  separableConv2d<T extends Tensor3D | Tensor4D>(x: T | TensorLike, depthwiseFilter: Tensor4D | TensorLike, pointwiseFilter: Tensor4D | TensorLike, strides: [number, number] | number, pad: 'valid' | 'same', dilation?: [number, number] | number, dataFormat?: 'NHWC' | 'NCHW'): T;
  conv2dTranspose<T extends Tensor3D | Tensor4D>(x: T | TensorLike, filter: Tensor4D | TensorLike, outputShape: [number, number, number, number] | [number, number, number], strides: [number, number] | number, pad: Padding, dimRoundingMode?: Rounding): T;
  maxPool<T extends Tensor3D | Tensor4D>(x: T | TensorLike, filterSize: [number, number] | number, strides: [number, number] | number, pad: Padding, dimRoundingMode?: Rounding): T;
  avgPool<T extends Tensor3D | Tensor4D>(x: T | TensorLike, filterSize: [number, number] | number, strides: [number, number] | number, pad: Padding, dimRoundingMode?: Rounding): T;
  batchNorm<R extends Rank>(x: Tensor<R> | TensorLike, mean: Tensor<R> | Tensor1D | TensorLike, variance: Tensor<R> | Tensor1D | TensorLike, offset?: Tensor<R> | Tensor1D | TensorLike, scale?: Tensor<R> | Tensor1D | TensorLike, varianceEpsilon?: number): Tensor<R>;
  localResponseNormalization<T extends Tensor3D | Tensor4D>(x: T | TensorLike, depthRadius?: number, bias?: number, alpha?: number, beta?: number): T;

  // ---- memory
  /** Runs fn and disposes every tensor it made except those it returns. */
  tidy<T extends TensorContainer>(nameOrFn: string | (() => T), fn?: () => T): T;
  keep<T extends Tensor>(result: T): T;
  dispose(container: TensorContainer): void;
}
