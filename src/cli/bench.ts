// `lenet5 bench`: training throughput for 1..N workers (and, with --profile, where a step's time
// goes per tfjs kernel).
import { availableParallelism } from 'node:os';
import { bench, defaultWarmup, type BenchResult } from '../bench.js';
import { hostParallelEfficiency } from '../host-check.js';
import { loadMnist } from '../mnist-files.js';
import { profileStep, profileTaskSizes, type TaskSizeProfile } from '../profile.js';
import type { KernelSet } from '../tf.js';
import { grouped } from './format.js';

export interface BenchFlags {
  models: string[];
  workers?: number[];
  batch: number;
  runs: number;
  steps: number;
  warmup?: number;
  kernels: KernelSet;
  augment: boolean;
  profile: boolean;
  json: boolean;
}

/** Profiled steps per model, after the warm-up; the table gives each kernel's median. */
const PROFILED_STEPS = 20;

export async function benchCommand(flags: BenchFlags): Promise<number> {
  const data = loadMnist();
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const warmup = flags.warmup ?? defaultWarmup(flags.kernels);
  if (flags.profile) {
    for (const model of flags.models) {
      const p = await profileStep(model, flags.kernels, data, flags.batch, PROFILED_STEPS, warmup);
      // The stock kernels' time is all kernel: timing whole tasks by size would only take minutes.
      let t: TaskSizeProfile | null = null;
      if (flags.kernels === 'fast') t = await profileTaskSizes(model, flags.kernels, data, flags.batch, warmup, flags.steps);
      if (flags.json) {
        out(JSON.stringify({ type: 'profile', ...p, ...(t && { bySize: t.bySize, fixedMs: t.fixedMs, twoWorkerBound: t.twoWorkerBound }) }));
        continue;
      }
      out(`${model}, ${flags.kernels} kernels, one thread, batch ${flags.batch}: ${p.stepMs.toFixed(1)} ms per forward+backward (median of ${p.repeats} after ${p.warmup} warm-up steps), ${p.kernelCalls} tfjs kernel calls`);
      out(`  kernel                         calls    ms/step   share`);
      for (const k of p.byKernel) {
        out(`  ${k.kernel.padEnd(30)} ${String(k.calls).padStart(5)} ${k.ms.toFixed(2).padStart(10)} ${(100 * k.share).toFixed(1).padStart(6)}%`);
      }
      if (t) printTaskSizes(out, t, warmup, flags.steps);
    }
    return 0;
  }
  if (!flags.json) {
    out(`lenet5 bench: batch ${flags.batch}, ${flags.kernels} kernels, ${flags.augment ? 'distorted' : 'undistorted'} images, ${flags.runs} runs x ${flags.steps} steps after ${warmup} warm-up steps; samples/s median [min, max]`);
    const cores = availableParallelism();
    if (cores > 1) {
      const e = await hostParallelEfficiency(cores);
      const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
      out(`  host check: ${cores} threads at once each run at ${pct(e.arithmetic)} (scalar arithmetic), ${pct(e.simd)} (SIMD kernels) and ${pct(e.memory)} (memory reads) of one alone`);
    }
  }
  const results = await bench({
    models: flags.models,
    workers: flags.workers,
    batchSize: flags.batch,
    runs: flags.runs,
    steps: flags.steps,
    warmup,
    kernels: flags.kernels,
    augment: flags.augment,
    data,
    onResult: (r: BenchResult) => {
      const ms = (x: number) => Math.round(x * 100) / 100;
      if (flags.json) {
        out(JSON.stringify({
          model: r.model, workers: r.workers, batch: r.batch, augment: r.augment, samplesPerSec: Math.round(r.samplesPerSec), min: Math.round(r.min), max: Math.round(r.max), runs: r.runs, warmup: r.warmup, kernels: r.kernels,
          stepMs: ms(r.stepMs), taskMs: ms(r.taskMs), updateMs: ms(r.updateMs),
        }));
        return;
      }
      const f = (x: number) => x.toFixed(1);
      out(
        `  ${r.model.padEnd(15)} ${String(r.workers).padStart(2)} workers: ${grouped(r.samplesPerSec).padStart(6)} samples/s [${grouped(r.min)}, ${grouped(r.max)}];` +
          ` a step ${f(r.stepMs)} ms = micro-batches ${f(r.taskMs)} + update ${f(r.updateMs)} + waiting ${f(r.stepMs - r.taskMs - r.updateMs)}`,
      );
    },
  });
  if (!flags.json) {
    for (const model of flags.models) {
      const one = results.find((r) => r.model === model && r.workers === 1);
      for (const r of results.filter((q) => q.model === model && q.workers > 1)) {
        if (one) out(`  ${model}: ${r.workers} workers are ${(r.samplesPerSec / one.samplesPerSec).toFixed(2)}x one worker`);
      }
    }
  }
  return 0;
}

function printTaskSizes(out: (s: string) => void, t: TaskSizeProfile, warmup: number, rounds: number): void {
  const cell = (x: string) => x.padStart(7);
  out(`  one gradient task in this thread (batch built and distorted, forward, backward), median of ${rounds} after ${warmup} warm-up tasks:`);
  out(`  samples ${t.bySize.map((b) => cell(String(b.samples))).join('')}`);
  out(`  ms      ${t.bySize.map((b) => cell(b.ms.toFixed(2))).join('')}`);
  if (t.fixedMs === null || t.twoWorkerBound === null) return;
  const [hi, lo] = [Math.ceil(t.batch / 2), Math.floor(t.batch / 2)];
  const halves = hi === lo ? `2 t(${hi})` : `t(${hi}) + t(${lo})`;
  out(
    `  per task, whatever its size: ${halves} - t(${t.batch}) = ${t.fixedMs.toFixed(2)} ms; so 2 workers are at most t(${t.batch}) / t(${hi}) = ` +
      `${t.twoWorkerBound.toFixed(2)}x one worker at batch ${t.batch}, before the update, the barriers and any slowdown from running side by side`,
  );
}
