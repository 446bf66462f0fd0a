// The Comlink pool on Node worker_threads (through Comlink's Node adapter): the browser's pool,
// testable without a browser. Workers run dist/workers/comlink-node-worker.js by default.
import { Worker } from 'node:worker_threads';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { builtFile } from '../paths.js';
import type { PoolFactory } from '../protocol.js';
import { createComlinkPool } from './comlink.js';

export function createComlinkNodePool(options: { filename?: string } = {}): PoolFactory {
  return createComlinkPool(() => {
    const worker = new Worker(options.filename ?? builtFile('workers/comlink-node-worker.js'));
    let stopping = false;
    return {
      endpoint: nodeEndpoint(worker),
      terminate: () => {
        stopping = true;
        return worker.terminate();
      },
      onDeath: (callback) => {
        worker.on('error', (e) => callback(e));
        worker.on('exit', (code) => stopping || callback(new Error(`worker exited with code: ${code}`)));
      },
    };
  });
}

export const comlinkNodePool: PoolFactory = createComlinkNodePool();
