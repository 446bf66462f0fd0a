// How a model module is imported by URL, in a browser (scripts/build.mjs puts this file in place
// of import-url.ts for the browser bundles) and under vitest (vitest.config.ts): the import()
// expression itself.
export const importUrl = (url: string): Promise<{ default?: unknown }> => import(/* @vite-ignore */ url);
