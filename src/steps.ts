// The synchronous step as the workers run it among themselves (protocol.ts StepsTask), W workers
// on one control block (step-control.ts), S micro-batch slots, P parameters:
//
//   for each step v:
//     compute my micro-batches      slots s = w, w + W, ...   (reads weights copy v % 2)
//     barrier                       every slot written
//     average and update my range   about entries [P w / W, P (w + 1) / W) -> copy (v + 1) % 2
//     barrier; the last arrival     checks the loss and every range finite, commits version v + 1
//
// Each entry's average sums the slots in index order and every entry's update is the same
// arithmetic whoever runs it, so the weights' bits depend on S, never on W. The coordinator only
// starts the task and reads the records when it ends: no message between steps.
import { averageSlots, learningRateAt, updateRange } from './optimizer.js';
import type { ParamStore } from './params.js';
import type { StepsTask } from './protocol.js';
import { permutation } from './rng.js';
import { MAX_TASK_STEPS, Outcome, StepControl, wallMs } from './step-control.js';

/**
 * Cuts indices into `s` contiguous micro-batches, sizes as equal as possible (larger first). Each
 * is a copy: a subarray would carry the whole epoch permutation into every task message.
 */
export function cutShards(indices: Int32Array, s: number): Int32Array[] {
  const base = Math.floor(indices.length / s);
  const extra = indices.length % s;
  const out: Int32Array[] = [];
  let at = 0;
  for (let k = 0; k < s; k++) {
    const n = base + (k < extra ? 1 : 0);
    out.push(indices.slice(at, at + n));
    at += n;
  }
  return out;
}

/** The training-set order of an epoch: the seeded shuffle, or 0..n-1. */
export const epochOrder = (n: number, seed: number, epoch: number, shuffle: boolean): Int32Array =>
  shuffle ? permutation(n, seed, epoch) : Int32Array.from({ length: n }, (_, i) => i);

/** The samples of step t of an epoch in that order: order[t B .. (t + 1) B), the last step possibly shorter. */
export const stepSamples = (order: Int32Array, t: number, batchSize: number): Int32Array =>
  order.subarray(t * batchSize, Math.min((t + 1) * batchSize, order.length));

/** What the loop needs of its worker. */
export interface StepWorker {
  readonly store: ParamStore;
  readonly control: StepControl;
  /** The epoch's order of the training set (the worker caches it). */
  order(epoch: number, shuffle: boolean): Int32Array;
  /** Micro-batch `slot` of step `version`: its mean-loss gradient into the slot; returns the loss. */
  microBatch(version: number, slot: number, epoch: number, indices: Int32Array): number;
}

/** Runs a steps task on this worker; the control block says how many steps were committed. */
export function runSteps(task: StepsTask, w: StepWorker): void {
  const { store, control } = w;
  const { worker, workers, epoch, batchSize, stepsPerEpoch, optimizer } = task;
  const S = store.shards;
  const P = store.layout.size;
  // My range: P / W entries, its ends on multiples of 4 (fast copies, see params.ts).
  const lo = Math.min(P, 4 * Math.floor((P * worker) / workers / 4));
  const hi = worker === workers - 1 ? P : Math.min(P, 4 * Math.floor((P * (worker + 1)) / workers / 4));
  const order = w.order(epoch, task.shuffle);
  const count = task.count;
  if (!(count >= 1 && count <= MAX_TASK_STEPS)) throw new RangeError(`a steps task runs 1..${MAX_TASK_STEPS} steps (the control block's records), got ${count}`);
  const deadline = performance.now() + task.patienceMs;
  for (let k = 0; k < count; k++) {
    const v = task.version + k;
    if (control.aborted || store.version !== v) break;
    const samples = stepSamples(order, v % stepsPerEpoch, batchSize);
    const shards = cutShards(samples, S);
    const counts = shards.map((x) => x.length);
    const computing = performance.now();
    for (let s = worker; s < S; s += workers) control.losses[s] = counts[s] ? w.microBatch(v, s, epoch, shards[s]) : 0;
    control.perWorker[3 * worker] = performance.now() - computing;
    if (!control.arrive(() => {}, deadline)) break;
    const updating = performance.now();
    const finite = averageSlots(store, counts, undefined, lo, hi);
    if (finite) updateRange(store, optimizer, learningRateAt(optimizer, v, stepsPerEpoch), v, v, lo, hi);
    control.perWorker[3 * worker + 1] = performance.now() - updating;
    control.perWorker[3 * worker + 2] = finite ? 1 : 0;
    const arrived = control.arrive(() => {
      let loss = 0;
      for (let s = 0; s < S; s++) if (counts[s]) loss += (counts[s] / samples.length) * control.losses[s];
      let allFinite = true;
      let computeMs = 0;
      let updateMs = 0;
      for (let x = 0; x < workers; x++) {
        computeMs = Math.max(computeMs, control.perWorker[3 * x]);
        updateMs = Math.max(updateMs, control.perWorker[3 * x + 1]);
        if (control.perWorker[3 * x + 2] !== 1) allFinite = false;
      }
      const now = wallMs();
      control.records.set([loss, computeMs, updateMs, now], 4 * k); // a diverged step's too: its loss goes into the message
      if (!allFinite) return control.diverge(Outcome.gradient);
      if (!Number.isFinite(loss)) return control.diverge(Outcome.loss);
      store.version = v + 1;
      control.commit(k, k + 1 < count && !control.stopping && now - control.started < task.budgetMs);
    }, deadline);
    if (!arrived || !control.goOn) break;
  }
}
