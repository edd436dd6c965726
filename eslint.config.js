// Lint rules for the whole repository: typescript-eslint's recommended set, strict on `any`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Folder boundaries of src/ (docs/architecture.md, "Rules of the house" 2). Imports inside src/ are relative, so a
// pattern names the folder after the run of '../' that climbs to src/ (a same-named folder nested deeper would match too;
// there is none).
const DATA_PLANE = ['balance', 'resilience', 'transport', 'http', 'outbound', 'inbound', 'listener', 'resolve', 'workload', 'security', 'telemetry', 'tcp'];
const importOf = (...folders) => `^(\\.\\./)+(${folders.join('|')})(/|$)`;
// The request path keeps working with the control plane gone because it only reads snapshots; a shared type goes down to model/.
const controlPlane = {
  regex: importOf('control', 'registry'),
  message: 'The data plane never imports control/ or registry/: it reads snapshots; move a shared type down to model/ (or core/).',
};
// proxy/ is the sidecar's assembly; what an in-process SDK needs as well lives below it (workload/, outbound/, inbound/, ...).
const sidecarAssembly = {
  regex: importOf('proxy'),
  message: 'Only proxy/, cli/, src/index.ts and sdk/ import proxy/ (the sidecar assembly); move what is shared down (workload/, outbound/, inbound/).',
};

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
    files: ['src/**/*.ts'],
    ignores: ['src/proxy/**', 'src/cli/**', 'src/sdk/**', 'src/index.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [sidecarAssembly] }] },
  },
  {
    // A later block replaces the rule's options whole, so the data plane repeats the proxy/ boundary.
    files: DATA_PLANE.map((folder) => `src/${folder}/**/*.ts`),
    rules: { 'no-restricted-imports': ['error', { patterns: [controlPlane, sidecarAssembly] }] },
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
