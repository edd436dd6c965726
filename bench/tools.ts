// Bench: the native tools the bench drives (wrk, nginx, haproxy, taskset), found or installed from Debian.
import { findBinary, installDebianPackages, isRoot } from '../test/support/index.js';

export interface Tools {
  wrk: string;
  nginx: string;
  haproxy: string;
  /** Absent: runs are not pinned to CPUs, and the report says so. */
  taskset: string | undefined;
}

const REQUIRED = [
  { name: 'wrk', aptPackage: 'wrk' },
  { name: 'nginx', aptPackage: 'nginx' },
  { name: 'haproxy', aptPackage: 'haproxy' },
] as const;

/** Finds the tools; installs missing ones with apt-get when root; throws naming what is missing otherwise. */
export async function findTools(): Promise<Tools> {
  const found = new Map<string, string>();
  const missing: (typeof REQUIRED)[number][] = [];
  for (const tool of REQUIRED) {
    const path = await findBinary(tool.name);
    if (path === undefined) missing.push(tool);
    else found.set(tool.name, path);
  }
  if (missing.length > 0 && isRoot()) {
    const packages = missing.map((tool) => tool.aptPackage);
    process.stderr.write(`bench: installing ${packages.join(' ')} with apt-get...\n`);
    await installDebianPackages(packages).catch((error: unknown) => {
      process.stderr.write(`bench: apt-get failed: ${error instanceof Error ? error.message : String(error)}\n`);
    });
    for (const tool of missing.splice(0)) {
      const path = await findBinary(tool.name);
      if (path === undefined) missing.push(tool);
      else found.set(tool.name, path);
    }
  }
  if (missing.length > 0) {
    const packages = missing.map((tool) => tool.aptPackage).join(' ');
    throw new Error(
      `missing ${missing.map((tool) => tool.name).join(', ')}: install with ` +
        `\`apt-get install -y --no-install-recommends ${packages}\` (or run the bench as root, which installs them)`,
    );
  }
  return {
    wrk: found.get('wrk') ?? 'wrk',
    nginx: found.get('nginx') ?? 'nginx',
    haproxy: found.get('haproxy') ?? 'haproxy',
    taskset: await findBinary('taskset'),
  };
}
