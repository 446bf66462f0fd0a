// A pool over message-passing workers driven with Comlink: Web Workers in the browser, Node
// worker_threads through Comlink's Node adapter (pools/comlink-node.ts). Same WorkerInit, same
// tasks, same src/worker.ts on the other side as the Piscina pool, so the coordinator and its
// results do not change. Each worker runs one task at a time; tasks queue in submission order.
// A worker that dies, or whose task runs past the timeout, is terminated and a new one is spawned
// and initialised in its place; its task rejects so that the coordinator can run it again.
import * as Comlink from 'comlink';
import type { PoolFactory, ResultOf, Task, WorkerInit, WorkerPool } from '../protocol.js';
import type { WorkerApi } from '../worker.js';

/** One spawned worker: its Comlink endpoint, how to stop it, and how to hear that it died. */
export interface SpawnedWorker {
  readonly endpoint: Comlink.Endpoint;
  terminate(): void | Promise<unknown>;
  /** Registers a callback for the worker dying (exit, load error). */
  onDeath(callback: (error: Error) => void): void;
}

interface Job {
  readonly task: Task;
  readonly resolve: (r: never) => void;
  readonly reject: (e: Error) => void;
}

interface Slot {
  readonly index: number;
  readonly remote: Comlink.Remote<WorkerApi>;
  readonly spawned: SpawnedWorker;
  /** Until init() has answered, the slot takes no task. */
  ready: boolean;
  lost: boolean;
  busy: { job: Job; timer: ReturnType<typeof setTimeout> } | null;
}

export function createComlinkPool(spawn: (index: number) => SpawnedWorker): PoolFactory {
  return async (init: WorkerInit, size, { taskTimeoutMs }) => {
    const slots: Slot[] = [];
    const queue: Job[] = [];
    let dead: Error | null = null;
    let destroyed = false;

    const failAll = (error: Error) => {
      dead ??= error;
      for (const s of slots) {
        if (!s.busy) continue;
        clearTimeout(s.busy.timer); // a pending timer would keep the process (or page) busy
        s.busy.job.reject(error);
        s.busy = null;
      }
      for (const q of queue.splice(0)) q.reject(error);
    };

    const pump = () => {
      for (const slot of slots) {
        if (slot.busy || !slot.ready || slot.lost || !queue.length || dead) continue;
        const job = queue.shift()!;
        const timer = setTimeout(
          () => lose(slot, new Error(`the task ran past the ${taskTimeoutMs / 1000} s task timeout; its worker was stopped and replaced`)),
          taskTimeoutMs,
        );
        slot.busy = { job, timer };
        const settle = (fn: () => void) => {
          if (slot.busy?.job !== job) return; // the slot was lost meanwhile: the job has been rejected
          clearTimeout(timer);
          slot.busy = null;
          fn();
          pump();
        };
        slot.remote.run(job.task).then(
          (r) => settle(() => job.resolve(r as never)),
          (e: unknown) => settle(() => job.reject(e instanceof Error ? e : new Error(String(e)))),
        );
      }
    };

    /** A new worker in slot `index`, initialised; resolves when it can take tasks. */
    const start = (index: number): Promise<void> => {
      const spawned = spawn(index);
      const slot: Slot = { index, remote: Comlink.wrap<WorkerApi>(spawned.endpoint), spawned, ready: false, lost: false, busy: null };
      slots[index] = slot;
      let died: (e: Error) => void = () => {};
      const death = new Promise<never>((_, reject) => (died = reject));
      spawned.onDeath((e) => {
        died(e);
        lose(slot, e);
      });
      // A worker that dies while initialising would leave init() pending forever: race it.
      return Promise.race([slot.remote.init(init), death]).then(() => {
        slot.ready = true;
        pump();
      });
    };

    /** The worker in `slot` is gone (died or hung): reject its task, stop it, start another. */
    function lose(slot: Slot, error: Error): void {
      if (slot.lost || destroyed || dead) return;
      slot.lost = true;
      const busy = slot.busy;
      slot.busy = null;
      if (busy) {
        clearTimeout(busy.timer);
        busy.job.reject(error);
      }
      void Promise.resolve(slot.spawned.terminate()).catch(() => undefined);
      if (!slot.ready) return; // it never started: start() reports that
      start(slot.index).catch((e: unknown) => failAll(new Error(`a replacement worker failed to start: ${e instanceof Error ? e.message : String(e)}`)));
    }

    const destroy = async () => {
      if (destroyed) return;
      failAll(new Error('the worker pool was destroyed'));
      destroyed = true;
      await Promise.all(slots.map((s) => s.spawned.terminate()));
    };
    try {
      await Promise.all(Array.from({ length: size }, (_, i) => start(i)));
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
