// Entry point of a Comlink Web Worker (the browser demo's pool, pools/comlink.ts).
import * as Comlink from 'comlink';
import { workerApi } from '../src/worker.js';

Comlink.expose(workerApi());
