// Bench: where nginx's stream module is (Debian ships it apart, in libnginx-mod-stream), for the tcp bench's nginx-stream contender.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';

/** The Debian package that holds ngx_stream_module.so. */
export const STREAM_MODULE_PACKAGE = 'libnginx-mod-stream';
const MODULE_FILE = 'ngx_stream_module.so';
/** Debian's and Red Hat's module directories, looked in after the one nginx was built with. */
const MODULE_DIRS = ['/usr/lib/nginx/modules', '/usr/share/nginx/modules', '/usr/lib64/nginx/modules', '/etc/nginx/modules'];

/** How nginx gets its stream module: loaded from a file (`load_module PATH;`), or compiled in. */
export type StreamModule = { load: string } | 'built-in';

/** The stream module of the nginx at `nginx`, or undefined when it has none. */
export async function findStreamModule(nginx: string): Promise<StreamModule | undefined> {
  const configure = await buildFlags(nginx);
  // `--with-stream` alone compiles it in; `--with-stream=dynamic` builds the file that load_module takes.
  if (/(^|\s)--with-stream(\s|$)/.test(configure)) return 'built-in';
  const builtWith = /--modules-path=(\S+)/.exec(configure)?.[1];
  for (const dir of builtWith === undefined ? MODULE_DIRS : [builtWith, ...MODULE_DIRS]) {
    const file = join(dir, MODULE_FILE);
    try {
      await access(file, constants.R_OK);
      return { load: file };
    } catch {
      // not in this one
    }
  }
  return undefined;
}

/** What `nginx -V` says nginx was configured with (it prints on stderr). */
function buildFlags(nginx: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(nginx, ['-V'], { timeout: 5_000 }, (_error, stdout, stderr) => resolve(`${stdout}\n${stderr}`));
  });
}
