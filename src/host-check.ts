// The host check `lenet5 bench` prints beside its worker-scaling figures (src/cli/bench.ts).
import { kernelModule } from './kernels/wasm.js';
import { median } from './stats.js';

/** What each loop measures: see hostParallelEfficiency. */
export interface HostEfficiency {
  readonly arithmetic: number;
  readonly simd: number;
  readonly memory: number;
}

/**
 * How well this host runs `threads` busy threads at once: the time of a fixed loop alone, divided
 * by its time when `threads` copies run together (1.0 = perfect), for three loops: `arithmetic`
 * (scalar floating point on 16 KB, in cache: bound by the latency of one chain of adds), `simd`
 * (the kernels' own GEMM on a [32, 152] x [152, 16] product, in cache: bound by the SIMD units'
 * throughput, which two virtual CPUs placed on one core's two hardware threads share, where a
 * latency-bound loop runs at full speed) and `memory` (reading a 64 MB array, one float per cache
 * line: the shared caches and memory bus). Context for the worker scaling figures: on a shared
 * host two "cores" may not be two cores, and a training step is mostly SIMD arithmetic.
 */
export async function hostParallelEfficiency(threads: number): Promise<HostEfficiency> {
  const { Worker } = await import('node:worker_threads');
  const loops = {
    arithmetic: `const a = new Float64Array(1024).map((_, i) => i / 1024), b = a.slice().reverse();
      const t0 = performance.now(); let s = 0;
      for (let r = 0; r < 200000; r++) for (let i = 0; i < 1024; i++) s += a[i] * b[i];`,
    simd: `const memory = new WebAssembly.Memory({ initial: 16, maximum: 16, shared: true });
      const k = new WebAssembly.Instance(workerData, { env: { memory, abort() { throw new Error('abort'); } } }).exports;
      const a = (k.heapBase() + 15) & ~15, b = a + 32 * 152 * 4, c = b + 152 * 16 * 4;
      new Float32Array(memory.buffer, a, 32 * 152 + 152 * 16).fill(0.5);
      for (let r = 0; r < 4000; r++) k.gemm(32, 16, 152, a, 152, 1, b, 16, c, 16); // V8 tiers the code up
      const t0 = performance.now();
      for (let r = 0; r < 40000; r++) k.gemm(32, 16, 152, a, 152, 1, b, 16, c, 16);
      const s = new Float32Array(memory.buffer, c, 1)[0];`,
    memory: `const a = new Float32Array(16 * 2 ** 20); for (let i = 0; i < a.length; i++) a[i] = i & 255;
      const t0 = performance.now(); let s = 0;
      for (let r = 0; r < 60; r++) for (let i = r & 15; i < a.length; i += 16) s += a[i];`,
  };
  const module = await kernelModule();
  const run = (loop: string, n: number) =>
    Promise.all(
      Array.from({ length: n }, () => {
        const w = new Worker(`const { parentPort, workerData } = require('node:worker_threads'); ${loop} parentPort.postMessage({ ms: performance.now() - t0, s });`, { eval: true, workerData: module });
        return new Promise<number>((resolve, reject) => {
          w.once('message', (m: { ms: number }) => resolve(m.ms));
          w.once('error', reject);
        }).finally(() => w.terminate());
      }),
    );
  const efficiency = async (loop: string) => {
    const alone: number[] = [];
    for (let k = 0; k < 3; k++) alone.push((await run(loop, 1))[0]); // one at a time
    return median(alone) / Math.max(...(await run(loop, threads)));
  };
  return { arithmetic: await efficiency(loops.arithmetic), simd: await efficiency(loops.simd), memory: await efficiency(loops.memory) };
}
