/** @type {import('jest').Config} */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] };
module.exports = {
  projects: [
    { displayName: 'unit', testEnvironment: 'node', roots: ['<rootDir>/test/unit'], testMatch: ['**/*.test.ts'], transform },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/integration'],
      testMatch: ['**/*.test.ts'],
      transform,
    },
    {
      // packs the package, installs it into fresh directories (npm pack + npm install, one cmake-js and one
      // node-pty build): minutes, not seconds; the per-test timeouts are in the file
      displayName: 'install',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/install'],
      testMatch: ['**/*.test.ts'],
      transform,
    },
  ],
  testTimeout: 30000,
  // integration suites create containers and cgroups on a 2-core machine: one file at a time
  maxWorkers: 1,
};
