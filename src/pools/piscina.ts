// The Node pool: a Piscina pool of long-lived worker threads, one task at a time per thread, each
// thread running workers/piscina-worker.ts (built to dist/workers/piscina-worker.js).
import { Piscina } from 'piscina';
import { builtFile } from '../paths.js';
import type { PoolFactory, ResultOf, Task, WorkerPool } from '../protocol.js';

export interface PiscinaPoolOptions {
  /** The worker module (compiled JavaScript). Default: dist/workers/piscina-worker.js. */
  filename?: string;
}

export function createPiscinaPool(options: PiscinaPoolOptions = {}): PoolFactory {
  return async (init, size) => {
    const piscina = new Piscina({
      filename: options.filename ?? builtFile('workers/piscina-worker.js'),
      workerData: init,
      minThreads: size,
      maxThreads: size,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
    });
    // Errors outside a task (a thread failing to start) would otherwise be unhandled 'error'
    // events; the task that needed the thread rejects with its own error anyway.
    piscina.on('error', () => {});
    let destroyed: Promise<void> | null = null;
    const pool: WorkerPool = {
      size,
      run<T extends Task>(task: T): Promise<ResultOf<T>> {
        if (destroyed) return Promise.reject(new Error('the worker pool was destroyed'));
        return piscina.run(task) as Promise<ResultOf<T>>;
      },
      destroy() {
        destroyed ??= piscina.destroy();
        return destroyed;
      },
    };
    return pool;
  };
}

export const piscinaPool: PoolFactory = createPiscinaPool();
