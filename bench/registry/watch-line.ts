// Bench (registry): the few facts a watcher needs from one NDJSON watch line, found without parsing the JSON.

/** Meta keys carried by every tagged bench write: its sequence number and its send time (ms, sub-ms precision). */
export const SEQ_KEY = 'bseq';
export const SENT_KEY = 'bsent';

export interface Tag {
  seq: number;
  sent: number;
}

export interface WatchLine {
  type: 'reset' | 'upsert' | 'remove' | 'ping' | 'other';
  /** The event's version, or -1 if the line carries none. */
  version: number;
  /** Every tagged write the line carries: one for an upsert, possibly many for a reset. */
  tags: Tag[];
}

const TYPE = /^\{"type":"([a-z]+)"/;
const VERSION = /"version":(\d+)/;
const TAG = new RegExp(`"${SEQ_KEY}":"(\\d+)","${SENT_KEY}":"([\\d.]+)"`, 'g');

/**
 * Watchers see thousands of lines per second each; a full JSON.parse per line would make the
 * generator, not the control plane, the bottleneck. The server writes `JSON.stringify(event)`,
 * whose key order is fixed, and meta keys keep their insertion order (seq before sent).
 */
export function scanWatchLine(line: string): WatchLine {
  const type = TYPE.exec(line)?.[1];
  const version = VERSION.exec(line)?.[1];
  const tags = type === 'upsert' || type === 'reset' ? scanTags(line) : [];
  return {
    type: type === 'reset' || type === 'upsert' || type === 'remove' || type === 'ping' ? type : 'other',
    version: version === undefined ? -1 : Number(version),
    tags,
  };
}

/** Splits a growing text buffer into complete lines; returns the unfinished tail to keep. */
export function takeLines(buffer: string, onLine: (line: string) => void): string {
  let start = 0;
  for (let end = buffer.indexOf('\n', start); end !== -1; end = buffer.indexOf('\n', start)) {
    if (end > start) onLine(buffer.slice(start, end));
    start = end + 1;
  }
  return start === 0 ? buffer : buffer.slice(start);
}

/** The tags in any text (an etcd value holds one stored instance). */
export function scanTags(text: string): Tag[] {
  const tags: Tag[] = [];
  TAG.lastIndex = 0;
  for (let match = TAG.exec(text); match !== null; match = TAG.exec(text)) tags.push({ seq: Number(match[1]), sent: Number(match[2]) });
  return tags;
}
