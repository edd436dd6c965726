// Bench tests: nginx's stream module for the tcp bench's smoke run — installed when root, else a failure under CI=true and a loud skip elsewhere, as requireBinary does for binaries.
import { findStreamModule, STREAM_MODULE_PACKAGE, type StreamModule } from '../../bench/nginx-stream-module.js';
import { installDebianPackages, isCi, isRoot } from '../support/index.js';

/** The stream module of the nginx at `nginx`; undefined (after saying so) when there is none. */
export async function requireStreamModule(nginx: string, purpose: string): Promise<StreamModule | undefined> {
  const found = await findStreamModule(nginx);
  if (found !== undefined) return found;
  let installError = '';
  if (isRoot()) {
    await installDebianPackages([STREAM_MODULE_PACKAGE]).catch((error: unknown) => {
      installError = `\n  apt-get failed: ${error instanceof Error ? error.message : String(error)}`;
    });
    const installed = await findStreamModule(nginx);
    if (installed !== undefined) return installed;
  }
  const message =
    `nginx's stream module (Debian package ${STREAM_MODULE_PACKAGE}) is not installed; needed for ${purpose}.${installError}\n` +
    `  install it with: apt-get install -y --no-install-recommends ${STREAM_MODULE_PACKAGE}` +
    (isRoot() ? '' : '  (or run the tests as root, which installs it)');
  if (isCi()) throw new Error(`CI=true and ${message}`);
  const bar = '#'.repeat(78);
  process.stderr.write(`\n${bar}\n# SKIPPING: ${message.replace(/\n/g, '\n# ')}\n${bar}\n\n`);
  return undefined;
}
