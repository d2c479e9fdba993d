import { defineConfig } from 'vitest/config';

// Two projects: pure/unit tests run in parallel; lab tests build network namespaces, need root,
// and run one file at a time so their labs never overlap.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['helper/**/*.test.ts', 'electron/**/*.test.ts', 'scripts/**/*.test.ts', 'e2e/**/*.test.ts'],
          exclude: ['**/*.lab.test.ts', '**/node_modules/**'],
        },
      },
      {
        // The React UI: components and the store, in a DOM (jsdom).
        test: {
          name: 'renderer',
          include: ['renderer/**/*.test.{ts,tsx}'],
          environment: 'jsdom',
        },
      },
      {
        test: {
          name: 'lab',
          include: ['**/*.lab.test.ts'],
          exclude: ['**/node_modules/**', 'dist/**'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
