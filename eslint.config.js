// Lint rules for the whole repository: typescript-eslint's recommended set, strict on `any`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-check/**', 'node_modules/**', 'bench/results/**', '.weft/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', URL: 'readonly',
        AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly', TextEncoder: 'readonly',
        TextDecoder: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The dashboard's plain ES modules run in the browser, not in Node.
    files: ['src/dashboard/public/**/*.js'],
    languageOptions: {
      globals: { window: 'readonly', sessionStorage: 'readonly', document: 'readonly', location: 'readonly', Node: 'readonly', fetch: 'readonly',
        requestAnimationFrame: 'readonly', TextDecoderStream: 'readonly', AbortController: 'readonly', setTimeout: 'readonly' },
    },
  },
);
