// Dashboard (browser): the API token the page sends when reads need one — kept in sessionStorage, asked for with a small form on a 401.
import { h } from './dom.js';

const STORAGE_KEY = 'weft.token';
/** The token entered while sessionStorage is unavailable (some private modes): it then lives only in this page. */
let fallback;

function storedToken() {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

let asking;

/**
 * Shows the token form (once, however many requests were refused at the same time) and resolves when a token
 * was entered. A stored token that was refused is forgotten first: it has expired or been revoked.
 */
export function askForToken() {
  if (asking) return asking;
  fallback = undefined;
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage is off: nothing was stored.
  }
  asking = new Promise((resolve) => {
    const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', placeholder: 'wt1.…', required: '' });
    const form = h(
      'form',
      { class: 'token-form', id: 'token-form' },
      h('label', {}, 'This control plane needs an API token to read (weft token create --service NAME, or the admin token): ', input),
      h('button', { type: 'submit' }, 'Use token'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (token === '') return;
      try {
        sessionStorage.setItem(STORAGE_KEY, token);
      } catch {
        fallback = token;
      }
      form.remove();
      asking = undefined;
      resolve();
    });
    document.body.prepend(form);
    input.focus();
  });
  return asking;
}

/** The token to send: the stored one, or the one entered while storage was unavailable. */
export function currentToken() {
  return storedToken() ?? fallback;
}
