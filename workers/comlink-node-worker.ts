// Entry point of a Comlink worker on Node worker_threads (pools/comlink-node.ts).
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { workerApi } from '../src/worker.js';

if (!parentPort) throw new Error('comlink-node-worker must run in a worker thread');
Comlink.expose(workerApi(), nodeEndpoint(parentPort));
