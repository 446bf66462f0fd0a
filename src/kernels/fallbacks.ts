// Which stock tfjs-backend-cpu kernels did arithmetic on the fast backend: a kernel this project
// does not implement, or a fast kernel handing a case it does not take to the stock one. Each is
// plain JS, often 10-100x slower than the WebAssembly kernels: a model should know when its step
// runs one. Counted per thread by kernel name and input shapes; each new one is reported once.

/** Kernels that move or relabel data without arithmetic worth a kernel of our own. */
const FREE = new Set(['Identity', 'Reshape', 'Cast', 'ZerosLike', 'OnesLike', 'Fill', 'Pack', 'Unpack', 'Slice', 'Concat']);

const seen = new Map<string, number>(); // "Kernel [shape] [shape]" -> calls
const unreported: string[] = [];

export interface Fallback {
  /** Kernel name and the shapes of its inputs, e.g. "MaxPool [32,28,28,6]". */
  readonly kernel: string;
  readonly calls: number;
}

/** Whether a stock kernel run is counted at all (false for the FREE ones). */
export const counts = (kernelName: string) => !FREE.has(kernelName);

/** Records one run of the stock `kernelName` on inputs of these shapes. */
export function recordFallback(kernelName: string, inputs: Record<string, { shape: number[] }>): void {
  const key = `${kernelName} ${Object.values(inputs).map((t) => `[${t.shape.join(',')}]`).join(' ')}`;
  const calls = seen.get(key);
  if (calls === undefined) unreported.push(key);
  seen.set(key, (calls ?? 0) + 1);
}

/** Every fallback this thread has run, most calls first. */
export function fallbacks(): Fallback[] {
  return [...seen].map(([kernel, calls]) => ({ kernel, calls })).sort((a, b) => b.calls - a.calls);
}

/** The fallbacks first seen since the last call (each is returned once). */
export function takeNewFallbacks(): string[] {
  return unreported.splice(0);
}

/** Forgets them all (tests). */
export function resetFallbacks(): void {
  seen.clear();
  unreported.length = 0;
}
