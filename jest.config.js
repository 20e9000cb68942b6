/** @type {import('jest').Config} */
module.exports = {
    preset: 'ts-jest',
    testEnvironment: 'node',
    roots: ['<rootDir>/test'],
    testMatch: ['**/*.test.ts'],
    globalSetup: '<rootDir>/test/support/globalSetup.ts',
    globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
    testTimeout: 60000,
    maxWorkers: 2,
};
