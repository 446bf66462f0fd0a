// Entry point of a Piscina worker thread. The thread builds its model and views of shared memory
// once, from workerData, then answers tasks (src/worker.ts) until the pool is destroyed.
import { workerData } from 'node:worker_threads';
import { createWorker } from '../src/worker.js';
import type { Result, Task, WorkerInit } from '../src/protocol.js';

export default createWorker(workerData as WorkerInit).then((worker) => (task: Task): Result => worker.run(task));
