// Security/JWT: the path rules are matched against, normalized so that "/public/../admin" cannot borrow a public route's rule.

const NEEDS_WORK = /%|\\|\/\.|\/\//;

/**
 * The path of a request target without query or fragment, with `%2e` decoded, backslashes as slashes, repeated slashes
 * merged and dot segments removed (RFC 3986 section 5.2.4). An app or proxy further on may apply any of these, so
 * the rule chosen must be the rule of the path it will finally serve. `%2f` is left encoded: it is data, not a
 * separator (RFC 3986 section 2.2). Always starts with "/".
 */
export function canonicalRequestPath(target: string): string {
  let path = target;
  if (path.startsWith('http://') || path.startsWith('https://')) {
    try {
      path = new URL(path).pathname;
    } catch {
      return '/';
    }
  }
  const end = firstOf(path, '?', '#');
  if (end >= 0) path = path.slice(0, end);
  if (!path.startsWith('/')) path = `/${path}`;
  if (!NEEDS_WORK.test(path)) return path;
  const segments = path.replace(/%2e/gi, '.').replace(/\\/g, '/').split('/');
  const out: string[] = [];
  for (const segment of segments) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  const last = segments[segments.length - 1];
  const trailingSlash = last === '' || last === '.' || last === '..';
  return `/${out.join('/')}${trailingSlash && out.length > 0 ? '/' : ''}`;
}

function firstOf(text: string, a: string, b: string): number {
  const i = text.indexOf(a);
  const j = text.indexOf(b);
  if (i < 0) return j;
  if (j < 0) return i;
  return Math.min(i, j);
}
