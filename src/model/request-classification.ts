// Model: how both planes name an unknown peer and judge a request's outcome, so sidecar metrics and the control plane's stats agree.

/** Label value for a service that is not known; Prometheus treats an empty label value as an absent label, so never ''. */
export const UNKNOWN_SERVICE = '_unknown';

/** Status recorded for a request whose client left before the response ended (as nginx does). */
export const CLIENT_CLOSED_STATUS = 499;

export type Classification = 'success' | 'failure';

/**
 * A 5xx is the server's failure; so are a broken response (status 0) and a client that gave up waiting (499), since
 * the caller got no answer either way. Everything else, 4xx included, was answered as asked.
 */
export function classify(status: number): Classification {
  return status >= 500 || status === 0 || status === CLIENT_CLOSED_STATUS ? 'failure' : 'success';
}
