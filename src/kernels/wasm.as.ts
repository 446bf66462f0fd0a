// The WebAssembly module's entry (compiled by scripts/build.mjs with `asc`): every kernel file's
// exports. Each kernel's AssemblyScript source (*.as.ts) sits beside its JS side (*.ts) in this
// folder. Pointers are byte offsets into the module's memory, which the JS side (wasm.ts) manages
// as an arena above heapBase(). Strides and sizes are in floats. All arithmetic is float32 unless
// a kernel says otherwise; results depend only on the inputs (fixed loop orders, no threads),
// which determinism needs.

export * from './activation.as';
export * from './conv.as';
export * from './elementwise.as';
export * from './layout.as';
export * from './gemm.as';
export * from './pool.as';
export * from './reduce.as';
export * from './resample.as';
export * from './update.as';

export function heapBase(): usize {
  return __heap_base;
}
