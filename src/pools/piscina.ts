// The Node pool: a Piscina pool of long-lived worker threads, one task at a time per thread, each
// thread running workers/piscina-worker.ts (built to dist/workers/piscina-worker.js). A thread
// that exits, crashes or runs out of memory fails only its own task, and Piscina starts another
// in its place; a task that runs past the timeout is aborted, which stops its thread (Piscina
// terminates the worker running an aborted task) and so is handled the same way. Tasks wait
// here, not in Piscina's queue, so that a task's clock starts when a thread takes it.
import { Piscina } from 'piscina';
import { builtFile } from '../paths.js';
import type { PoolFactory, ResultOf, Task, WorkerPool } from '../protocol.js';

export interface PiscinaPoolOptions {
  /** The worker module (compiled JavaScript). Default: dist/workers/piscina-worker.js. */
  filename?: string;
  /** Per-thread heap limits (Node's Worker resourceLimits); a thread past them dies and is replaced. */
  resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number };
}

export function createPiscinaPool(options: PiscinaPoolOptions = {}): PoolFactory {
  return async (init, size, { taskTimeoutMs }) => {
    const piscina = new Piscina({
      filename: options.filename ?? builtFile('workers/piscina-worker.js'),
      workerData: init,
      minThreads: size,
      maxThreads: size,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      resourceLimits: options.resourceLimits,
    });
    // Errors outside a task (a thread failing to start) would otherwise be unhandled 'error'
    // events; the task that needed the thread rejects with its own error anyway.
    piscina.on('error', () => {});
    let destroyed: Promise<void> | null = null;
    let running = 0;
    const waiting: (() => void)[] = [];
    const run = async <T extends Task>(task: T): Promise<ResultOf<T>> => {
      if (running >= size) await new Promise<void>((go) => waiting.push(go));
      if (destroyed) throw new Error('the worker pool was destroyed');
      running++;
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(), taskTimeoutMs);
      try {
        return (await piscina.run(task, { signal: timeout.signal })) as ResultOf<T>;
      } catch (e) {
        if (timeout.signal.aborted) {
          throw new Error(`the task ran past the ${taskTimeoutMs / 1000} s task timeout; its worker thread was stopped and replaced`, { cause: e });
        }
        throw e;
      } finally {
        clearTimeout(timer);
        running--;
        waiting.shift()?.();
      }
    };
    const pool: WorkerPool = {
      size,
      run<T extends Task>(task: T): Promise<ResultOf<T>> {
        if (destroyed) return Promise.reject(new Error('the worker pool was destroyed'));
        return run(task);
      },
      destroy() {
        destroyed ??= piscina.destroy();
        for (const go of waiting.splice(0)) go(); // they see `destroyed` and reject
        return destroyed;
      },
    };
    return pool;
  };
}

export const piscinaPool: PoolFactory = createPiscinaPool();
