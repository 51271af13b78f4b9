import { defineConfig } from 'vitest/config';

// Three projects: unit tests (pure, parallel), interop tests (root, network namespaces, real
// strongSwan/BIRD), which share machine state and run one file at a time, and the bounded
// libFuzzer runs of the C data plane (clang; native/fuzz). The CPU-bound unit and fuzz projects run
// first, side by side; the interop project runs after them, so the timing it measures (pings lost
// across rekeys and failovers) is not the cost of a fuzzer on the next core.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'interop',
          include: ['test/interop/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'fuzz',
          include: ['test/fuzz/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
