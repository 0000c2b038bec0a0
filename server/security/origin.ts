/**
 * The Origin allowlist, against cross-site WebSocket hijacking: a page on another site can open a WebSocket to
 * this server from a victim's browser (browsers do not apply CORS to WebSockets), and only the `Origin` header
 * tells the server which site that page came from. Non-browser clients send no `Origin`; they cannot be hijacked
 * that way, so a request without one is let through (authentication still applies).
 */
import { isIP } from 'node:net';

/** Decides whether a request's `Origin` header may connect. */
export type OriginCheck = (origin: string | undefined) => boolean;

interface Pattern {
  readonly scheme: string;
  /** Host labels; a leading `*` label stands for one or more labels. */
  readonly host: string;
  /** A port, `''` for the scheme's default, or `*` for any. */
  readonly port: string;
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

/** The origins a loopback server accepts without configuration: pages served from this machine, on any port. */
export const LOOPBACK_ORIGINS: readonly string[] = [
  'http://localhost:*',
  'https://localhost:*',
  'http://127.0.0.1:*',
  'https://127.0.0.1:*',
  'http://[::1]:*',
  'https://[::1]:*',
];

/** True for the interfaces only this machine can reach: 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * Parses an allowlist entry: an exact origin (`https://rackhd.example.com`, `http://10.1.1.5:8080`), optionally
 * with `*` as its first host label (`https://*.example.com`: any subdomain, not the bare domain) or as its port
 * (`http://localhost:*`).
 * @throws TypeError for anything else (a path, a lone `*`, a missing scheme), so a typo fails at start-up.
 */
export function parseOriginPattern(entry: string): Pattern {
  const m = /^(https?:)\/\/(\*\.)?([^/:*?#@\s]+|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}|\*))?\/?$/.exec(entry.trim());
  if (!m) {
    throw new TypeError(
      `invalid origin "${entry}": expected scheme://host[:port], e.g. "https://rackhd.example.com", ` +
        '"https://*.example.com" or "http://localhost:*" (use anyOrigin to allow every origin)',
    );
  }
  const scheme = m[1]!;
  const port = m[4] === undefined || m[4] === DEFAULT_PORTS[scheme] ? '' : m[4];
  return { scheme, host: (m[2] ? '*.' : '') + m[3]!.toLowerCase(), port };
}

function matchesPattern(p: Pattern, url: URL): boolean {
  if (url.protocol !== p.scheme) return false;
  if (p.port !== '*' && url.port !== p.port) return false;
  const host = url.hostname.toLowerCase();
  if (p.host.startsWith('*.')) {
    const suffix = p.host.slice(1);
    return host.length > suffix.length && host.endsWith(suffix);
  }
  return host === p.host;
}

/** An `OriginCheck` for a list of patterns (see `parseOriginPattern`). The literal `null` origin never passes. */
export function originAllowlist(entries: readonly string[]): OriginCheck {
  const patterns = entries.map(parseOriginPattern);
  return (origin) => {
    if (origin === undefined) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    // An Origin is scheme://host[:port] and nothing else (browsers send it serialised like this); anything else
    // (a path, credentials, a default port spelled out) is not an origin and does not pass.
    if (url.origin !== origin.toLowerCase()) return false;
    return patterns.some((p) => matchesPattern(p, url));
  };
}

/**
 * Resolves the origin options for the interface the server binds. Zero-config stays safe: on a loopback host
 * the default admits pages from `localhost`, `127.0.0.1` and `[::1]` (any port); on any other host the
 * operator must name the origins (or explicitly allow any), because the default there would be a hole.
 * @throws Error with what to do instead when a non-loopback host has neither `origins` nor `anyOrigin`.
 */
export function resolveOriginPolicy(host: string, origins: readonly string[] | undefined, anyOrigin: boolean | undefined): OriginCheck {
  if (anyOrigin) return () => true;
  if (origins !== undefined) return originAllowlist(origins);
  if (isLoopbackHost(host)) return originAllowlist(LOOPBACK_ORIGINS);
  throw new Error(
    `refusing to listen on ${host} without an Origin allowlist: any web page could open a WebSocket to this ` +
      "server from a visitor's browser. Pass origins (CLI: --origin https://ui.example.com, repeatable; env " +
      'MONORAIL_ORIGINS) or, when every client is trusted or authenticated, anyOrigin: true (CLI: --any-origin).',
  );
}
