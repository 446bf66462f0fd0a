// Where a training step's time goes, per tfjs kernel: runs forward + backward on one batch in the
// calling thread under tf.profile and sums kernel wall times by kernel name.
import { tf, useKernels, type KernelSet } from './tf.js';
import { fillInputs, fillOneHot, INPUT_SIDE, NUM_CLASSES, type Dataset } from './data.js';
import { createModel, initParam, type ModelName } from './model.js';
import { ParamStore } from './params.js';
import { computeGradient } from './worker.js';
import { median } from './bench.js';

export interface KernelProfile {
  readonly kernel: string;
  readonly calls: number;
  /** Median over repetitions of this kernel's summed time in one step. */
  readonly ms: number;
  readonly share: number;
}

export interface StepProfile {
  readonly model: ModelName;
  readonly kernels: KernelSet;
  readonly batch: number;
  /** Median wall time of one step (forward + backward), with profiling overhead. */
  readonly stepMs: number;
  readonly byKernel: readonly KernelProfile[];
}


export async function profileStep(model: ModelName, kernels: KernelSet, ds: Dataset, batch = 32, repeats = 5): Promise<StepProfile> {
  await useKernels(kernels);
  const spec = createModel(model);
  const store = ParamStore.create(spec, 1);
  store.layout.tensors.forEach((t, i) => initParam(spec, i, 1, store.view(store.weights, t.name)));
  const indices = Int32Array.from({ length: batch }, (_, i) => i);
  const inputs = new Float32Array(batch * INPUT_SIDE * INPUT_SIDE);
  const targets = new Float32Array(batch * NUM_CLASSES);
  fillInputs(ds, indices, inputs);
  fillOneHot(ds, indices, targets);
  const x = tf.tensor4d(inputs, [batch, INPUT_SIDE, INPUT_SIDE, 1]);
  const y = tf.tensor2d(targets, [batch, NUM_CLASSES]);
  const runs: Map<string, { calls: number; ms: number }>[] = [];
  const steps: number[] = [];
  for (let r = 0; r < repeats + 1; r++) {
    const t0 = performance.now();
    const info = await tf.profile(() => {
      computeGradient(spec, store, x, y, store.slot(0));
    });
    const wall = performance.now() - t0;
    if (r === 0) continue; // warm-up
    steps.push(wall);
    const by = new Map<string, { calls: number; ms: number }>();
    for (const k of info.kernels) {
      if (k.name.endsWith('__op')) continue; // an op's scope wrapping kernels already counted
      const e = by.get(k.name) ?? { calls: 0, ms: 0 };
      e.calls++;
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      by.set(k.name, e);
    }
    runs.push(by);
  }
  x.dispose();
  y.dispose();
  const names = [...runs[0].keys()];
  const rows = names.map((kernel) => ({
    kernel,
    calls: runs[0].get(kernel)!.calls,
    ms: median(runs.map((m) => m.get(kernel)?.ms ?? 0)),
  }));
  const total = rows.reduce((a, r) => a + r.ms, 0);
  return {
    model,
    kernels,
    batch,
    stepMs: median(steps),
    byKernel: rows.map((r) => ({ ...r, share: r.ms / total })).sort((a, b) => b.ms - a.ms),
  };
}
