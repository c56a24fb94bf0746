// ts-jest's ESM preset; run with NODE_OPTIONS=--experimental-vm-modules (see package.json "test").
/** @type {import('jest').Config} */
export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: false }],
  },
  testTimeout: 20000,
  // A Redis Cluster for __tests__/stores/redis-cluster when the run selects them and none was given.
  globalSetup: '<rootDir>/scripts/jest-global-setup.mjs',
  globalTeardown: '<rootDir>/scripts/jest-global-teardown.mjs',
  maxWorkers: 2,
  // `npm test` runs with --coverage; these thresholds are STYLE.md's habit 20. A directory's
  // threshold applies to its files together.
  coverageProvider: 'v8',
  collectCoverageFrom: ['src/**/*.ts', 'stores/**/*.ts', 'serializers/**/*.ts'],
  coverageReporters: [['text', { skipFull: true }], 'text-summary'],
  coverageThreshold: {
    './src/': { lines: 100 },
    './stores/': { lines: 95 },
    './serializers/': { lines: 95 },
  },
};
