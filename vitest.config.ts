import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // tfjs-core's register_all_gradients is ESM with extension-less imports that Node cannot load;
    // vite can, when it transforms tfjs instead of handing it to Node (see src/tf.ts).
    server: { deps: { inline: [/@tensorflow\//] } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
