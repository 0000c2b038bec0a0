/**
 * Secrets never reach a log line. A client may put its token in the URL (`?token=…`, `?access_token=…`: some
 * RackHD clients did) although monorail-ws reads it from the `bearer.<token>` subprotocol or the `Authorization`
 * header; logs are read by more people than the tokens are meant for, and kept longer. So a request's URL is logged
 * as its path with every query value replaced by `***` (`redactUrl`), and the line logger scrubs bearer
 * credentials and secret-looking `name=value` pairs from every line it writes (`redactSecrets`), whatever logged
 * them. Browser-safe: plain string work.
 */

/** Characters of a URL or header value kept in a log line; the rest is cut (a header may be 16 KiB). */
export const MAX_LOGGED_LENGTH = 256;

const REDACTED = '***';

/** A query parameter name kept as it is: short and plain (anything else might be the secret itself). */
const PLAIN_NAME = /^[A-Za-z0-9_.[\]-]{1,64}$/;

/** Cuts `text` to `max` characters, saying so. */
export function truncate(text: string, max = MAX_LOGGED_LENGTH): string {
  return text.length <= max ? text : `${text.slice(0, max)}…(${text.length} chars)`;
}

/**
 * A request URL for a log line: the path, then every query parameter with its value replaced by `***` (names
 * kept when they are plain words, so a log still tells `?token=` from `?debug=`; a parameter without `=` is
 * replaced whole), no fragment, at most
 * `MAX_LOGGED_LENGTH` characters. `undefined` becomes `''`.
 */
export function redactUrl(url: string | undefined): string {
  if (url === undefined) return '';
  const hash = url.indexOf('#');
  const bare = hash < 0 ? url : url.slice(0, hash);
  const q = bare.indexOf('?');
  const path = redactSecrets(q < 0 ? bare : bare.slice(0, q));
  if (q < 0) return truncate(path);
  const params = bare
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      // A parameter without `=` is all value (`?<token>`); a name that is not a plain word might be a secret too.
      const eq = pair.indexOf('=');
      return eq > 0 && PLAIN_NAME.test(pair.slice(0, eq)) ? `${pair.slice(0, eq)}=${REDACTED}` : REDACTED;
    });
  return truncate(`${path}?${params.join('&')}`);
}

/** `bearer.<token>` (the subprotocol) and `Bearer <token>` (the header), in any case. */
const BEARER = /\b(bearer)(\.|\s+)[^\s,;"'&]+/gi;
/** `name=value` where the name says secret: token, access_token, client_secret, password, apiKey, jwt, sig, … */
const SECRET_PAIR = /\b([A-Za-z0-9_-]*(?:token|secret|passw|pwd|jwt|api[_-]?key|auth|credential|sig)[A-Za-z0-9_-]*)=[^&\s"',;#]+/gi;

/**
 * Scrubs credentials out of free text (a whole log line): the token of `bearer.<token>` and `Bearer <token>`,
 * and the value of every `name=value` pair whose name suggests a secret.
 */
export function redactSecrets(text: string): string {
  return text.replace(BEARER, `$1$2${REDACTED}`).replace(SECRET_PAIR, `$1=${REDACTED}`);
}
