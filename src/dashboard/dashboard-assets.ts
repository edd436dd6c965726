// Dashboard: the web UI's static files (src/dashboard/public and uPlot from node_modules), read once into memory with their ETags.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { WeftError } from '../core/index.js';

export interface DashboardAsset {
  readonly body: Buffer;
  /** The same bytes gzipped, compressed once here rather than per request; uPlot's 145 KB become 42 KB. */
  readonly gzipped: Buffer;
  readonly contentType: string;
  readonly etag: string;
  /** Each encoding is its own representation with its own tag, as caches between here and the browser expect. */
  readonly gzippedEtag: string;
}

/** Assets by URL path ("/", "/dashboard/app.js", "/dashboard/vendor/uPlot.esm.js"). Only these paths are ever served. */
export type DashboardAssets = ReadonlyMap<string, DashboardAsset>;

export const DASHBOARD_PREFIX = '/dashboard';

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** uPlot's files inside its package, resolved like any dependency so that they are found when weft is itself installed as one. */
const VENDOR_FILES = ['uplot/dist/uPlot.esm.js', 'uplot/dist/uPlot.min.css'] as const;

/**
 * Reads the dashboard once: a handful of small files, so serving is a map lookup and a path can never name
 * anything outside this list (no traversal to guard against at request time).
 */
export function loadDashboardAssets(publicDir: string = PUBLIC_DIR): Promise<DashboardAssets> {
  if (publicDir !== PUBLIC_DIR) return readAssetsOrExplain(publicDir);
  // The files do not change while the process runs: every control plane in it (tests start many) shares one read.
  shipped ??= readAssetsOrExplain(PUBLIC_DIR).catch((error: unknown) => {
    shipped = undefined;
    throw error;
  });
  return shipped;
}

let shipped: Promise<DashboardAssets> | undefined;

async function readAssetsOrExplain(publicDir: string): Promise<DashboardAssets> {
  try {
    return await readAssets(publicDir);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new WeftError('INTERNAL', `cannot read the dashboard's files (${reason}); rebuild with \`npm run build\` or start with --no-dashboard`, { cause: error });
  }
}

async function readAssets(publicDir: string): Promise<DashboardAssets> {
  const assets = new Map<string, DashboardAsset>();
  for (const entry of await readdir(publicDir, { withFileTypes: true })) {
    const type = CONTENT_TYPES[extname(entry.name)];
    if (!entry.isFile() || type === undefined) continue;
    const asset = toAsset(await readFile(join(publicDir, entry.name)), type);
    assets.set(`${DASHBOARD_PREFIX}/${entry.name}`, asset);
    if (entry.name === 'index.html') assets.set('/', asset);
  }
  const require = createRequire(import.meta.url);
  for (const specifier of VENDOR_FILES) {
    const file = require.resolve(specifier);
    const name = specifier.slice(specifier.lastIndexOf('/') + 1);
    assets.set(`${DASHBOARD_PREFIX}/vendor/${name}`, toAsset(await readFile(file), CONTENT_TYPES[extname(name)] ?? 'application/octet-stream'));
  }
  return assets;
}

function toAsset(body: Buffer, contentType: string): DashboardAsset {
  const hash = createHash('sha1').update(body).digest('base64url');
  return { body, gzipped: gzipSync(body, { level: 9 }), contentType, etag: `"${hash}"`, gzippedEtag: `"${hash}-gz"` };
}
