// A pool over message-passing workers driven with Comlink: Web Workers in the browser, Node
// worker_threads through Comlink's Node adapter (pools/comlink-node.ts). Same WorkerInit, same
// tasks, same src/worker.ts on the other side as the Piscina pool, so the coordinator and its
// results do not change. Each worker runs one task at a time; tasks queue in submission order.
import * as Comlink from 'comlink';
import type { PoolFactory, ResultOf, Task, WorkerPool } from '../protocol.js';
import type { WorkerApi } from '../worker.js';

/** One spawned worker: its Comlink endpoint, how to stop it, and how to hear that it died. */
export interface SpawnedWorker {
  readonly endpoint: Comlink.Endpoint;
  terminate(): void | Promise<unknown>;
  /** Registers a callback for the worker dying (exit, load error). */
  onDeath(callback: (error: Error) => void): void;
}

interface Slot {
  readonly remote: Comlink.Remote<WorkerApi>;
  readonly spawned: SpawnedWorker;
  busy: { reject: (e: Error) => void } | null;
}

export function createComlinkPool(spawn: (index: number) => SpawnedWorker): PoolFactory {
  return async (init, size) => {
    const slots: Slot[] = [];
    const queue: { task: Task; resolve: (r: never) => void; reject: (e: Error) => void }[] = [];
    let dead: Error | null = null;
    let destroyed = false;

    const failAll = (error: Error) => {
      dead ??= error;
      for (const s of slots) s.busy?.reject(error);
      for (const q of queue.splice(0)) q.reject(error);
    };

    const pump = () => {
      for (const slot of slots) {
        if (slot.busy || !queue.length || dead) continue;
        const job = queue.shift()!;
        slot.busy = { reject: job.reject };
        slot.remote.run(job.task).then(
          (r) => {
            slot.busy = null;
            job.resolve(r as never);
            pump();
          },
          (e: unknown) => {
            slot.busy = null;
            job.reject(e instanceof Error ? e : new Error(String(e)));
            pump();
          },
        );
      }
    };

    for (let i = 0; i < size; i++) {
      const spawned = spawn(i);
      spawned.onDeath((e) => failAll(e));
      slots.push({ remote: Comlink.wrap<WorkerApi>(spawned.endpoint), spawned, busy: null });
    }
    const destroy = async () => {
      if (destroyed) return;
      destroyed = true;
      failAll(new Error('the worker pool was destroyed'));
      await Promise.all(slots.map((s) => s.spawned.terminate()));
    };
    try {
      // A worker that dies while initialising would leave init() pending forever: race it.
      await Promise.race([
        Promise.all(slots.map((s) => s.remote.init(init))),
        new Promise<never>((_, reject) => slots.forEach((s) => s.spawned.onDeath(reject))),
      ]);
    } catch (e) {
      await destroy();
      throw e;
    }

    const pool: WorkerPool = {
      size,
      run<T extends Task>(task: T): Promise<ResultOf<T>> {
        if (destroyed) return Promise.reject(new Error('the worker pool was destroyed'));
        if (dead) return Promise.reject(dead);
        return new Promise<ResultOf<T>>((resolve, reject) => {
          queue.push({ task, resolve: resolve as (r: never) => void, reject });
          pump();
        });
      },
      destroy,
    };
    return pool;
  };
}
