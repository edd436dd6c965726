// Test support: finds the Debian binaries a test needs, installs them when root, else fails (CI) or skips loudly.
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** Directories searched after PATH: root's sbin directories are often missing from a user's PATH. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** apt-get may wait up to 10 minutes for another apt-get holding the dpkg lock. */
const APT_LOCK = ['-o', 'DPkg::Lock::Timeout=600'];
const APT_TIMEOUT_MS = 15 * 60_000;

export interface RequireBinaryOptions {
  /** The Debian package that provides the binary. */
  aptPackage: string;
  /** What the binary is for, shown in skip and failure messages ("nginx upstream for the proxy tests"). */
  purpose: string;
  /** Try apt-get when missing and root; default true. */
  install?: boolean;
}

/** The absolute path of an executable named `name` in PATH or the usual system directories, if any. */
export async function findBinary(name: string): Promise<string | undefined> {
  if (name.includes('/')) return (await isExecutable(name)) ? name : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...EXTRA_DIRS];
  for (const dir of new Set(dirs)) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export function isCi(): boolean {
  return process.env.CI === 'true';
}

/**
 * Resolves to the binary's path. When it is missing: installs its package if running as root; if it is
 * still missing, throws under CI=true (a missing dependency must fail CI, not pass it silently) and
 * otherwise prints a loud skip notice and resolves to undefined, for `describe.skipIf(!path)`:
 *
 *   const nginx = await requireBinary('nginx', { aptPackage: 'nginx', purpose: 'the nginx upstream tests' });
 *   describe.skipIf(nginx === undefined)('behind nginx', () => { ... });
 */
export async function requireBinary(name: string, opts: RequireBinaryOptions): Promise<string | undefined> {
  const found = await findBinary(name);
  if (found !== undefined) return found;

  let installError: string | undefined;
  if ((opts.install ?? true) && isRoot()) {
    try {
      await installDebianPackages([opts.aptPackage]);
    } catch (error) {
      installError = error instanceof Error ? error.message : String(error);
    }
    const installed = await findBinary(name);
    if (installed !== undefined) return installed;
  }

  const why = installError === undefined ? '' : `\n  apt-get failed: ${installError}`;
  const message =
    `\`${name}\` (Debian package ${opts.aptPackage}) is not installed; needed for ${opts.purpose}.${why}\n` +
    `  install it with: apt-get install -y --no-install-recommends ${opts.aptPackage}` +
    (isRoot() ? '' : '  (or run the tests as root, which installs it)');
  if (isCi()) throw new Error(`CI=true and ${message}`);
  const bar = '#'.repeat(78);
  process.stderr.write(`\n${bar}\n# SKIPPING: ${message.replace(/\n/g, '\n# ')}\n${bar}\n\n`);
  return undefined;
}

let aptUpdated: Promise<void> | undefined;
let aptQueue: Promise<unknown> = Promise.resolve();

/**
 * Installs Debian packages with apt-get (root only), running `apt-get update` once per process first.
 * Calls are queued so that one process never races itself for the dpkg lock.
 */
export function installDebianPackages(packages: readonly string[]): Promise<void> {
  const run = aptQueue.then(async () => {
    aptUpdated ??= runApt(['update', '-q']);
    await aptUpdated;
    await runApt(['install', '-y', '-q', '--no-install-recommends', ...packages]);
  });
  aptQueue = run.catch(() => undefined);
  return run;
}

function runApt(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('apt-get', [...APT_LOCK, ...args], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), APT_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`apt-get ${args.join(' ')} exited with ${signal ?? code}: ${output.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
