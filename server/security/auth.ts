/**
 * Authentication at the WebSocket upgrade. Browsers cannot set headers on a WebSocket and query strings end up in
 * access logs, so the client sends its token as the subprotocol `bearer.<token>` next to `monorail-ws`; Node
 * clients may use `Authorization: Bearer <token>` instead. The server never selects (echoes) the token subprotocol.
 *
 * An `Authenticate` function turns the upgrade request into a principal; two ready-made ones cover the usual
 * cases: a JWT signed with a shared secret (HS256, verified by `jose`), and a bearer token checked by a callback
 * (RackHD-style: ask whatever issued it).
 */
import type { IncomingMessage } from 'node:http';
import type { JWTPayload } from 'jose';
import { loadOptional } from '../hub/optional-packages.js';

/**
 * Decides who is connecting. Returns the principal (anything but `null`/`undefined`: a user object, a claims set,
 * a name), or `null`/`undefined` to refuse — the connection is then accepted and at once closed with 4401, before
 * anything is read from or sent to it. A function that throws or rejects (its identity provider is down) closes
 * the connection with 1011 instead, so clients retry rather than give up.
 */
export type Authenticate = (request: IncomingMessage) => unknown;

/**
 * Where an `Authenticate` keeps what it must load before it can answer (`jwtVerifier`: the `jose` package), so
 * that `createServer` loads it before it listens and a missing package fails the start, not every connection.
 */
const PREPARE = Symbol('monorail-ws.authenticate.prepare');

/**
 * Loads what `authenticate` needs before it can answer; `createServer` awaits it before listening.
 * @throws MissingPackageError when `authenticate` is a `jwtVerifier` and the `jose` package is not installed.
 */
export async function prepareAuthenticate(authenticate: Authenticate | undefined): Promise<void> {
  await (authenticate as { [PREPARE]?: () => Promise<unknown> } | undefined)?.[PREPARE]?.();
}

const BEARER_PROTOCOL = 'bearer.';

/**
 * The bearer token of an upgrade request: the first `bearer.<token>` subprotocol, else an `Authorization: Bearer`
 * header; undefined when there is none (or it is empty).
 */
export function bearerToken(request: Pick<IncomingMessage, 'headers'>): string | undefined {
  const offered = request.headers['sec-websocket-protocol'];
  if (typeof offered === 'string') {
    for (const p of offered.split(',')) {
      const protocol = p.trim();
      if (protocol.startsWith(BEARER_PROTOCOL) && protocol.length > BEARER_PROTOCOL.length) return protocol.slice(BEARER_PROTOCOL.length);
    }
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return m?.[1];
}

/** Options of `jwtVerifier`. */
export interface JwtVerifierOptions {
  /** The shared HMAC secret, at least 32 bytes (RFC 7518 §3.2: the key must be at least as long as the hash). */
  secret: string | Uint8Array;
  /**
   * Accepted `iss` claim(s).
   * @default any issuer
   */
  issuer?: string | string[];
  /**
   * Accepted `aud` claim(s).
   * @default any audience
   */
  audience?: string | string[];
  /**
   * Seconds of clock skew tolerated on `exp`/`nbf`.
   * @default 5
   */
  clockToleranceSec?: number;
  /**
   * Refuse tokens without an `exp` claim: a token that never expires cannot be revoked by waiting.
   * @default true
   */
  requireExpiry?: boolean;
  /**
   * Maps the verified claims to the principal the hub's `authorize` receives.
   * @default the claims themselves
   */
  principal?: (claims: JWTPayload) => unknown;
}

const MIN_SECRET_BYTES = 32;

/**
 * An `Authenticate` for JWTs signed with a shared secret (HS256 only: the algorithm is pinned, so a token cannot
 * pick `none` or another algorithm). A missing, malformed, expired or badly signed token is refused (4401).
 * @throws TypeError when the secret is shorter than 32 bytes.
 */
export function jwtVerifier(options: JwtVerifierOptions): Authenticate {
  const key = typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret;
  if (key.byteLength < MIN_SECRET_BYTES) {
    throw new TypeError(`jwtVerifier: the HS256 secret must be at least ${MIN_SECRET_BYTES} bytes (got ${key.byteLength})`);
  }
  const verifyOptions = {
    algorithms: ['HS256'],
    clockTolerance: options.clockToleranceSec ?? 5,
    ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
    ...(options.audience !== undefined ? { audience: options.audience } : {}),
    ...(options.requireExpiry === false ? {} : { requiredClaims: ['exp'] }),
  };
  const toPrincipal = options.principal ?? ((claims: JWTPayload) => claims);
  // jose is an optional package: loaded on first use, which `createServer` makes its start (`prepareAuthenticate`).
  let jose: Promise<typeof import('jose')> | undefined;
  const load = () => (jose ??= loadOptional('jose', () => import('jose')));
  const verify: Authenticate = async (request) => {
    const token = bearerToken(request);
    if (token === undefined) return null;
    const { errors, jwtVerify } = await load();
    try {
      const { payload } = await jwtVerify(token, key, verifyOptions);
      return toPrincipal(payload);
    } catch (err) {
      // A bad token is a refusal; anything else (a bug, an exhausted resource) must not look like one.
      if (err instanceof errors.JOSEError) return null;
      throw err;
    }
  };
  return Object.assign(verify, { [PREPARE]: load });
}

/**
 * An `Authenticate` that hands the bearer token to `check` (RackHD-style: look it up, or ask the service that
 * issued it). No token: refused without calling `check`.
 * @param check Returns the principal, or `null`/`undefined` to refuse; may be async. Throwing means "cannot tell
 *   right now" (1011, the client retries), not "refused".
 */
export function bearerVerifier(check: (token: string, request: IncomingMessage) => unknown): Authenticate {
  return (request) => {
    const token = bearerToken(request);
    return token === undefined ? null : check(token, request);
  };
}
