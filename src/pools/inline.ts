// A "pool" that runs every task in the calling thread, one after another: the single-process
// training loop is the parallel one with this pool. Same worker code, same results, no threads.
import { createWorker } from '../worker.js';
import type { PoolFactory, ResultOf, Task, WorkerPool } from '../protocol.js';

export const inlinePool: PoolFactory = async (init) => {
  const worker = await createWorker(init);
  let destroyed = false;
  const pool: WorkerPool = {
    size: 1,
    inline: true,
    async run<T extends Task>(task: T): Promise<ResultOf<T>> {
      if (destroyed) throw new Error('the inline pool was destroyed');
      return worker.run(task) as ResultOf<T>;
    },
    async destroy() {
      destroyed = true;
    },
  };
  return pool;
};
