import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // A model module that imports 'lenet5-parallel' (examples/models/) gets the sources under test in
  // the test's own thread, the one tfjs instance there; worker threads load it natively (dist/).
  // Model modules load through vite too (import-url.ts's Function has no module loader in vite's
  // VM context), with the expression scripts/build.mjs gives the browser bundles.
  resolve: {
    alias: [
      { find: /^lenet5-parallel$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
      { find: /^\.\/import-url\.js$/, replacement: fileURLToPath(new URL('./src/models/import-url.browser.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // tfjs-core's register_all_gradients is ESM with extension-less imports that Node cannot load;
    // vite can, when it transforms tfjs instead of handing it to Node (see src/tf.ts).
    server: { deps: { inline: [/@tensorflow\//] } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
