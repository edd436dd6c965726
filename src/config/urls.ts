// Config: the URLs a config names, control-plane replicas and the OTLP collector; checked without zod, so that the CLI's flags can check them cheaply.

/** Where the control plane is when neither a flag, a file nor WEFT_CONTROL says. */
export const DEFAULT_CONTROL_URL = 'http://127.0.0.1:8500';

/**
 * Control-plane URLs written as one URL, a comma-separated list (`http://a:8500,http://b:8500`) or a YAML list.
 * Returns the URLs without trailing slashes, or a description of what was expected that quotes the bad entry.
 */
export function parseControlUrlList(value: string | readonly string[]): readonly string[] | string {
  const entries = (typeof value === 'string' ? [value] : value).flatMap((v) => v.split(',')).map((v) => v.trim());
  if (entries.every((e) => e === '')) return 'expected at least one URL such as http://127.0.0.1:8500';
  const urls: string[] = [];
  for (const entry of entries) {
    if (entry === '') return `expected comma-separated URLs without empty entries, got "${[value].flat().join(',')}"`;
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      return `expected a URL such as http://127.0.0.1:8500, got "${entry}"`;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return `expected an http:// or https:// URL, got "${entry}"`;
    const clean = entry.replace(/\/+$/, '');
    if (!urls.includes(clean)) urls.push(clean);
  }
  return urls;
}

/** Checked for shape only; which collector it is and whether it answers is found out at export time. */
export function parseOtlpUrl(text: string): string | { error: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { error: `expected a full OTLP/HTTP traces URL such as http://127.0.0.1:4318/v1/traces, got "${text}"` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: `expected an http:// or https:// URL, got "${text}"` };
  return text;
}
