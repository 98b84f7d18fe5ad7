// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'coverage/**',
      '**/*.mjs',
      '**/*.js',
      '!services/api/ui/**/*.js',
      '!tools/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  // The approval page's script runs in the browser, as an ES module.
  {
    files: ['services/api/ui/**/*.js'],
    languageOptions: { sourceType: 'module', globals: globals.browser },
    rules: {
      // Types may come from the workspace packages (wire-types.d.ts); code the browser loads may not.
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!\\.{1,2}/)', message: 'the page loads its own module files only' }] },
      ],
    },
  },
  // The build and test launchers run before anything is compiled: plain ES modules on Node.js.
  {
    files: ['tools/*.js'],
    languageOptions: { sourceType: 'module', globals: globals.node },
  },
);
