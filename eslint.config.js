// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'deploy/**', 'scripts/**', 'test-support/**/*.mjs', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'describe', 'it', 'suite'], package: 'node:test' }] },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/explicit-module-boundary-types': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      complexity: ['warn', 25],
      'import-x/no-cycle': 'error',
      // Architectural boundaries (docs/adr/0001-architecture.md):
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            { target: './src/model', from: './src', except: ['./model'], message: 'model imports nothing' },
            { target: './src/registry', from: './src/sinks', message: 'adapters never import sinks' },
            { target: './src/sinks', from: './src/registry', message: 'sinks never import adapters' },
            { target: './src/convert', from: './src/registry', message: 'conversion is pure: no adapters' },
            { target: './src/convert', from: './src/sinks', message: 'conversion is pure: no sinks' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'test-support/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/explicit-module-boundary-types': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      complexity: 'off',
    },
  },
);
