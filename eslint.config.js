// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

// Architectural boundaries (docs/adr/0001-architecture.md), checked on the import text (the
// TypeScript sources import `.js` paths, which import-x cannot resolve without a TS resolver).
// Registry adapters never import one another: what two kinds share lives in src/registry/shared/
// or beside it (kind.ts, service-set.ts, report-once.ts), so a kind's folder can be read, moved
// or dropped alone (ADR 0006).
const ADAPTERS = ['consul', 'etcd', 'eureka', 'file', 'http', 'nacos', 'plugin', 'zookeeper'];
const restrict = (files, groups) => ({
  files,
  ignores: ['**/*.test.ts'],
  rules: { 'no-restricted-imports': ['error', { patterns: groups.map(([group, message]) => ({ group, message })) }] },
});
const NO_SINKS = [['**/sinks/**'], 'adapters never import sinks'];
const boundaries = [
  restrict(['src/model/**/*.ts'], [[['../*', '!../model/**'], 'model imports nothing']]),
  restrict(['src/sinks/**/*.ts'], [[['**/registry/**'], 'sinks never import adapters']]),
  restrict(['src/convert/**/*.ts'], [
    [['**/registry/**'], 'conversion is pure: no adapters'],
    [['**/sinks/**'], 'conversion is pure: no sinks'],
  ]),
  restrict(['src/config/**/*.ts'], [[['**/registry/*/**'], 'config reads the kinds through src/registry/kinds.ts, never adapter internals']]),
  restrict(['src/registry/*.ts', 'src/registry/shared/**/*.ts'], [NO_SINKS]),
  ...ADAPTERS.map((a) =>
    restrict(
      [`src/registry/${a}/**/*.ts`],
      [NO_SINKS, [ADAPTERS.filter((b) => b !== a).map((b) => `**/${b}/**`), 'adapters never import one another: share through src/registry/shared']],
    ),
  ),
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'deploy/**', 'scripts/**', 'test-support/**/*.mjs', 'examples/**/*.js', 'examples/**/*.mjs', 'eslint.config.js'] },
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
    },
  },
  ...boundaries,
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
