// Dashboard (browser): the control plane's JSON API and its NDJSON watch stream, both on the page's own origin.
import { askForToken, currentToken } from './token-prompt.js';

export class HttpError extends Error {
  constructor(status, path) {
    super(`${path} answered ${status}`);
    this.status = status;
  }
}

/** A refused read asks for a token and retries; this many refusals in a row give up with the 401. */
const MAX_TOKEN_PROMPTS = 5;

function withToken(headers = {}) {
  const token = currentToken();
  return token ? { ...headers, authorization: `Bearer ${token}` } : headers;
}

export async function getJson(path) {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(path, { headers: withToken({ accept: 'application/json' }), cache: 'no-store' });
    if (res.status === 401 && attempt < MAX_TOKEN_PROMPTS) {
      await askForToken();
      continue;
    }
    if (!res.ok) throw new HttpError(res.status, path);
    return res.json();
  }
}

const RECONNECT_DELAY_MS = 1000;

/**
 * Follows GET /api/v1/watch: every event goes to onEvent (a full `reset` first, then changes), and a broken
 * stream resumes from the last version seen, so registry and policy changes show as they happen rather than
 * at the next poll. onStatus hears 'live' or 'reconnecting'. Returns a function that stops following.
 */
export function followWatch(onEvent, onStatus) {
  let stopped = false;
  let controller;
  let since;
  let store;
  const follow = async () => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const resume = since === undefined || store === undefined ? '' : `?since=${since}&store=${encodeURIComponent(store)}`;
        const res = await fetch(`/api/v1/watch${resume}`, { headers: withToken(), signal: controller.signal, cache: 'no-store' });
        if (res.status === 401) {
          onStatus('reconnecting');
          await askForToken();
          continue;
        }
        if (!res.ok || !res.body) throw new HttpError(res.status, '/api/v1/watch');
        store = res.headers.get('x-weft-store') ?? undefined;
        onStatus('live');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let pending = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          pending += value;
          let newline = pending.indexOf('\n');
          while (newline >= 0) {
            const line = pending.slice(0, newline);
            pending = pending.slice(newline + 1);
            if (line.trim() !== '') {
              const event = JSON.parse(line);
              since = event.version;
              onEvent(event);
            }
            newline = pending.indexOf('\n');
          }
        }
      } catch {
        // Falls through to a reconnect: the control plane restarting or the network dropping is routine.
      }
      if (stopped) return;
      onStatus('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
    }
  };
  void follow();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
