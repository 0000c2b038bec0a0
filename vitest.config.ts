import { defineConfig } from 'vitest/config';

// Vitest gets its own config: vite.config.ts belongs to the playground.
export default defineConfig({
  test: {
    include: ['{protocol,client,server,mock,test}/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
