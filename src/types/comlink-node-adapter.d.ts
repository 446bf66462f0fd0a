// Comlink ships its Node adapter as dist/esm/node-adapter.mjs with types in node-adapter.d.ts,
// which TypeScript does not pair with the .mjs path.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  // A worker_threads Worker or MessagePort.
  export default function nodeEndpoint(nep: {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    postMessage(message: any, transfer?: any): void;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    on(type: string, listener: (...args: any[]) => void): unknown;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    off(type: string, listener: (...args: any[]) => void): unknown;
  }): Endpoint;
}
