import { defineConfig } from 'vitest/config';

const dirs = '{protocol,client,server,mock,react,test}';

// Vitest gets its own config: vite.config.ts belongs to the playground.
//
// Two projects: everything runs in parallel, except `*.serial.test.ts` files, which run one at a time and only
// after all the others have finished (`groupOrder`). Those are tests that disturb shared services for everyone
// (a RabbitMQ `stop_app`), so no other test may be running while they do.
export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'parallel',
          include: [`${dirs}/**/*.test.ts`],
          exclude: [`${dirs}/**/*.serial.test.ts`],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'serial', include: [`${dirs}/**/*.serial.test.ts`], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
