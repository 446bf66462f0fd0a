// Where models come from: the built-in ones by name, or a module (a path or a URL) whose default
// export is a definition (defineModel, src/model.ts). The coordinator and every worker load a
// model the same way, from the same source string, so a user's module runs in each thread.
import { defineModel, type ModelSpec } from '../model.js';
import lenet5 from './lenet5.js';
import lenet5Softmax from './lenet5-softmax.js';
import { importUrl } from './import-url.js';

/** The built-in models, by name. */
export const BUILT_IN_MODELS: Readonly<Record<string, ModelSpec>> = Object.freeze({ lenet5, 'lenet5-softmax': lenet5Softmax });
export const MODEL_NAMES: readonly string[] = Object.keys(BUILT_IN_MODELS);

/** A model and where it was loaded from: a built-in name or an absolute URL (what workers are told). */
export interface LoadedModel {
  readonly spec: ModelSpec;
  readonly source: string;
}

const hasScheme = (s: string) => /^[A-Za-z][A-Za-z0-9+.-]+:/.test(s); // file:, https:, data: (not C:\)

/** A path or URL as an absolute URL: paths from the working directory (Node) or the page (browser). */
export function modelUrl(ref: string): string {
  if (hasScheme(ref)) return new URL(ref).href;
  const proc = (globalThis as { process?: { cwd?: () => string } }).process;
  const location = (globalThis as { location?: { href: string } }).location;
  if (proc?.cwd) {
    const encode = (p: string) => p.replace(/\\/g, '/').split('/').map(encodeURIComponent).join('/');
    return new URL(encode(ref), `file://${encode(proc.cwd())}/`).href;
  }
  if (location) return new URL(ref, location.href).href;
  throw new TypeError(`model ${JSON.stringify(ref)}: give an absolute URL (no working directory to resolve a path from)`);
}

/** The built-in model of that name, or null. */
export function builtInModel(name: string): ModelSpec | null {
  return Object.hasOwn(BUILT_IN_MODELS, name) ? BUILT_IN_MODELS[name] : null;
}

/**
 * Loads a model: a built-in name (`lenet5`, `lenet5-softmax`), or a path or URL of an ES module
 * whose default export is a model definition.
 */
export async function loadModel(ref: string, what = 'options.model'): Promise<LoadedModel> {
  if (typeof ref !== 'string' || ref === '') throw new TypeError(`${what} must be a built-in model (${MODEL_NAMES.join(', ')}) or the path or URL of a model module, got ${String(ref)}`);
  const builtIn = builtInModel(ref);
  if (builtIn) return { spec: builtIn, source: ref };
  if (!hasScheme(ref) && !/[./\\]/.test(ref)) {
    throw new TypeError(`${what} ${JSON.stringify(ref)} is not a built-in model (${MODEL_NAMES.join(', ')}); for a model file give its path, e.g. ./${ref}.js`);
  }
  const url = modelUrl(ref);
  let mod: { default?: unknown };
  try {
    mod = await importUrl(url);
  } catch (e) {
    throw new TypeError(`${what}: cannot load model module ${ref}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, { cause: e });
  }
  if (typeof mod.default !== 'object' || mod.default === null) {
    throw new TypeError(`${what}: ${ref} has no default export of a model; end it with \`export default defineModel({ ... })\``);
  }
  try {
    return { spec: defineModel(mod.default as ModelSpec), source: url };
  } catch (e) {
    throw new TypeError(`${ref}: ${(e as Error).message}`, { cause: e });
  }
}
