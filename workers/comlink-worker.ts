// Entry point of a Comlink Web Worker (the browser entry's pool, src/browser.ts and pools/comlink.ts).
import * as Comlink from 'comlink';
import { workerApi } from '../src/worker.js';

Comlink.expose(workerApi());
