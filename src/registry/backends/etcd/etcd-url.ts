// etcd store: parses `etcd://host:port[,host:port...][/prefix]` into client endpoints and a key prefix.
import { ConfigError } from '../../../core/index.js';

export interface EtcdLocation {
  /** `http://host:port` of every member given. */
  readonly hosts: readonly string[];
  /** Every key weft writes starts with it; ends with "/". */
  readonly prefix: string;
}

export const DEFAULT_ETCD_PREFIX = '/weft/';

export function parseEtcdUrl(text: string, source = '--store'): EtcdLocation {
  const match = /^etcd:\/\/([^/]+)(\/.*)?$/.exec(text.trim());
  if (!match) throw new ConfigError(source, '', `expected etcd://HOST:PORT[,HOST:PORT...][/PREFIX], got "${text}"`);
  const hosts = match[1]!.split(',').map((member) => {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(member)) {
      throw new ConfigError(source, '', `expected HOST:PORT for each etcd member, got "${member}"`);
    }
    return `http://${member}`;
  });
  const path = match[2] && match[2] !== '/' ? match[2] : DEFAULT_ETCD_PREFIX;
  return { hosts, prefix: path.endsWith('/') ? path : `${path}/` };
}
