// Build: copies the dashboard's static files next to the compiled server code (tsc only emits .ts output).
import { cp, rm } from 'node:fs/promises';

const from = new URL('../src/dashboard/public/', import.meta.url);
const to = new URL('../dist/dashboard/public/', import.meta.url);
await rm(to, { recursive: true, force: true });
await cp(from, to, { recursive: true });
