// Test runner configuration: every suite under tests/ (unit, integration, e2e) in one `vitest run`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
    // Suites start real HTTP servers on ephemeral ports; none shares a port or a namespace with another.
    fileParallelism: true,
  },
});
