/** @type {import('jest').Config} */
module.exports = {
    // Specs compile with jest's types (tsconfig.test.json); the production build with tsconfig.json, without them.
    transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
    testEnvironment: 'node',
    roots: ['<rootDir>/test'],
    testMatch: ['**/*.test.ts'],
    globalSetup: '<rootDir>/test/support/globalSetup.ts',
    globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
    testTimeout: 60000,
    maxWorkers: 2,
};
