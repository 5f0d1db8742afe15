import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // wrtc is a native addon that must not share a worker thread with other files
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // two cores: keep parallel files bounded so timing-sensitive socket tests stay sane
    maxWorkers: 2,
  },
});
