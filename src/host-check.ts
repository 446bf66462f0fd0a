// The host check `lenet5 bench` prints beside its worker-scaling figures (src/cli/bench.ts).
import { median } from './stats.js';

/**
 * How well this host runs `threads` busy threads at once: the time of a fixed loop alone, divided
 * by its time when `threads` copies run together (1.0 = perfect), for two loops: `arithmetic`
 * (floating point on 16 KB, in cache) and `memory` (reading a 64 MB array, one float per cache
 * line: the shared caches and memory bus). Context for the worker scaling figures: on a shared
 * host two "cores" may not be two cores, and a training step is partly memory-bound.
 */
export async function hostParallelEfficiency(threads: number): Promise<{ arithmetic: number; memory: number }> {
  const { Worker } = await import('node:worker_threads');
  const loops = {
    arithmetic: `const a = new Float64Array(1024).map((_, i) => i / 1024), b = a.slice().reverse();
      const t0 = performance.now(); let s = 0;
      for (let r = 0; r < 200000; r++) for (let i = 0; i < 1024; i++) s += a[i] * b[i];`,
    memory: `const a = new Float32Array(16 * 2 ** 20); for (let i = 0; i < a.length; i++) a[i] = i & 255;
      const t0 = performance.now(); let s = 0;
      for (let r = 0; r < 60; r++) for (let i = r & 15; i < a.length; i += 16) s += a[i];`,
  };
  const run = (loop: string, n: number) =>
    Promise.all(
      Array.from({ length: n }, () => {
        const w = new Worker(`const { parentPort } = require('node:worker_threads'); ${loop} parentPort.postMessage({ ms: performance.now() - t0, s });`, { eval: true });
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
  return { arithmetic: await efficiency(loops.arithmetic), memory: await efficiency(loops.memory) };
}
