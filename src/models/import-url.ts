// How a model module is imported by URL, in Node. Not an import() expression: a file that holds
// one is rewritten by tsx (what `npm start` runs under) with a fine-grained source map, and the
// shared chunk that holds this code is a megabyte of bundled tfjs: that cost ~90 MB in every
// worker thread. A function built at run time keeps the expression out of the bundle's text.
// (import-url.browser.ts is the browser's: a page's content security policy may refuse eval.)
export const importUrl = new Function('url', 'return import(url)') as (url: string) => Promise<{ default?: unknown }>;
