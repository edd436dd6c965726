// Bench: the native tools each protocol's bench drives (wrk, h2load, nginx and its stream module, haproxy, taskset), found or installed from Debian.
import { findBinary, installDebianPackages, isRoot } from '../test/support/index.js';
import { findStreamModule, STREAM_MODULE_PACKAGE, type StreamModule } from './nginx-stream-module.js';
import type { BenchProtocol } from './options.js';

export interface Tools {
  wrk: string;
  nginx: string;
  haproxy: string;
  h2load: string;
  /** How nginx-stream gets its module; undefined outside the tcp bench. */
  nginxStream: StreamModule | undefined;
  /** Absent: runs are not pinned to CPUs, and the report says so. */
  taskset: string | undefined;
}

interface Tool {
  name: 'wrk' | 'nginx' | 'haproxy' | 'h2load';
  aptPackage: string;
}

const WRK: Tool = { name: 'wrk', aptPackage: 'wrk' };
const NGINX: Tool = { name: 'nginx', aptPackage: 'nginx' };
const HAPROXY: Tool = { name: 'haproxy', aptPackage: 'haproxy' };
const H2LOAD: Tool = { name: 'h2load', aptPackage: 'nghttp2-client' };

/** What each protocol's bench cannot run without: its load generator, the upstream's server, its contenders' proxies. */
const REQUIRED: Readonly<Record<BenchProtocol, readonly Tool[]>> = {
  http1: [WRK, NGINX, HAPROXY],
  h2: [NGINX, H2LOAD],
  tcp: [NGINX, HAPROXY],
};

/** Finds the tools; installs missing ones with apt-get when root; throws naming what is missing otherwise. */
export async function findTools(protocol: BenchProtocol = 'http1'): Promise<Tools> {
  const found = new Map<string, string>();
  const missing: Tool[] = [];
  for (const tool of REQUIRED[protocol]) {
    const path = await findBinary(tool.name);
    if (path === undefined) missing.push(tool);
    else found.set(tool.name, path);
  }
  if (missing.length > 0 && isRoot()) {
    await install(missing.map((tool) => tool.aptPackage));
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
  const nginx = found.get('nginx') ?? 'nginx';
  return {
    wrk: found.get('wrk') ?? 'wrk',
    nginx,
    haproxy: found.get('haproxy') ?? 'haproxy',
    h2load: found.get('h2load') ?? 'h2load',
    nginxStream: protocol === 'tcp' ? await requireStreamModule(nginx) : undefined,
    taskset: await findBinary('taskset'),
  };
}

/** nginx-stream needs nginx's stream module, a package of its own on Debian. */
async function requireStreamModule(nginx: string): Promise<StreamModule> {
  const module = (await findStreamModule(nginx)) ?? (isRoot() ? await install([STREAM_MODULE_PACKAGE]).then(() => findStreamModule(nginx)) : undefined);
  if (module !== undefined) return module;
  throw new Error(
    `nginx has no stream module (for the nginx-stream contender): install it with ` +
      `\`apt-get install -y --no-install-recommends ${STREAM_MODULE_PACKAGE}\` (or run the bench as root, which installs it)`,
  );
}

async function install(packages: readonly string[]): Promise<void> {
  process.stderr.write(`bench: installing ${packages.join(' ')} with apt-get...\n`);
  await installDebianPackages(packages).catch((error: unknown) => {
    process.stderr.write(`bench: apt-get failed: ${error instanceof Error ? error.message : String(error)}\n`);
  });
}
