// Two projects named by cost: `unit` is pure (*.spec.ts, no broker, no model),
// `integration` talks to the real local stack (*.int-spec.ts).
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2023',
      },
      module: { type: 'commonjs' },
      sourceMaps: 'inline',
    },
  ],
  // ESM-only packages (the Parquet writer and reader of dg export) compiled to CommonJS for jest.
  '^.+/node_modules/hyparquet(-writer)?/.+\\.js$': ['@swc/jest', { module: { type: 'commonjs' } }],
};

module.exports = {
  // Global on purpose: jest ignores testTimeout inside a project. Integration tests set their own.
  testTimeout: 30000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns: ['/node_modules/(?!hyparquet(-writer)?/)'],
      testMatch: ['<rootDir>/services/**/*.spec.ts', '<rootDir>/schemas/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
      testPathIgnorePatterns: ['\\.int-spec\\.ts$'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns: ['/node_modules/(?!hyparquet(-writer)?/)'],
      testMatch: ['<rootDir>/test/**/*.int-spec.ts', '<rootDir>/services/**/*.int-spec.ts'],
    },
  ],
};
