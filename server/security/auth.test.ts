import type { IncomingMessage } from 'node:http';
import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { bearerToken, bearerVerifier, jwtVerifier } from './auth.js';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const key = new TextEncoder().encode(SECRET);

function request(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}
const viaProtocol = (token: string) => request({ 'sec-websocket-protocol': `monorail-ws, bearer.${token}` });

async function sign(
  claims: Record<string, unknown>,
  { exp = '5m', alg = 'HS256', secret = key }: { exp?: string | null; alg?: string; secret?: Uint8Array } = {},
): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt();
  if (exp) jwt.setExpirationTime(exp);
  return jwt.sign(secret);
}

describe('bearerToken', () => {
  it('reads the bearer.<token> subprotocol, wherever it is in the list', () => {
    expect(bearerToken(request({ 'sec-websocket-protocol': 'monorail-ws, bearer.abc.def-ghi_j' }))).toBe('abc.def-ghi_j');
    expect(bearerToken(request({ 'sec-websocket-protocol': 'bearer.x,monorail-ws' }))).toBe('x');
  });

  it('falls back to Authorization: Bearer (Node clients)', () => {
    expect(bearerToken(request({ authorization: 'Bearer tok' }))).toBe('tok');
    expect(bearerToken(request({ authorization: 'bearer   tok ' }))).toBe('tok');
  });

  it('prefers the subprotocol over the header', () => {
    expect(bearerToken(request({ 'sec-websocket-protocol': 'monorail-ws, bearer.p', authorization: 'Bearer h' }))).toBe('p');
  });

  it('finds none in an empty bearer., another scheme or no header', () => {
    expect(bearerToken(request({ 'sec-websocket-protocol': 'monorail-ws, bearer.' }))).toBeUndefined();
    expect(bearerToken(request({ authorization: 'Basic dXNlcjpwYXNz' }))).toBeUndefined();
    expect(bearerToken(request({}))).toBeUndefined();
  });
});

describe('jwtVerifier (HS256, shared secret)', () => {
  const verify = jwtVerifier({ secret: SECRET });

  it('returns the claims of a valid token as the principal', async () => {
    const principal = await verify(viaProtocol(await sign({ sub: 'admin', role: 'operator' })));
    expect(principal).toMatchObject({ sub: 'admin', role: 'operator' });
  });

  it('refuses (null) a missing, malformed, expired, wrongly signed or tampered token', async () => {
    const good = await sign({ sub: 'a' });
    const [h, , s] = good.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ sub: 'root', exp: 9_999_999_999 })).toString('base64url')}.${s}`;
    const cases = [
      request({}),
      viaProtocol('not-a-jwt'),
      viaProtocol(await sign({ sub: 'a' }, { exp: '-1m' })),
      viaProtocol(await sign({ sub: 'a' }, { secret: new TextEncoder().encode('another-secret-of-at-least-32-bytes') })),
      viaProtocol(tampered),
    ];
    for (const req of cases) expect(await verify(req)).toBeNull();
  });

  it('pins the algorithm: alg "none" and HS512 tokens are refused', async () => {
    const none = new UnsecuredJWT({ sub: 'a' }).setExpirationTime('5m').encode();
    expect(await verify(viaProtocol(none))).toBeNull();
    expect(await verify(viaProtocol(await sign({ sub: 'a' }, { alg: 'HS512' })))).toBeNull();
  });

  it('requires an exp claim unless told otherwise', async () => {
    const forever = await sign({ sub: 'a' }, { exp: null });
    expect(await verify(viaProtocol(forever))).toBeNull();
    expect(await jwtVerifier({ secret: SECRET, requireExpiry: false })(viaProtocol(forever))).toMatchObject({ sub: 'a' });
  });

  it('checks issuer and audience when given, and maps claims to a principal', async () => {
    const strict = jwtVerifier({ secret: SECRET, issuer: 'rackhd', audience: 'monorail', principal: (c) => ({ user: c.sub }) });
    expect(await strict(viaProtocol(await sign({ sub: 'u', iss: 'rackhd', aud: 'monorail' })))).toEqual({ user: 'u' });
    expect(await strict(viaProtocol(await sign({ sub: 'u', iss: 'other', aud: 'monorail' })))).toBeNull();
    expect(await strict(viaProtocol(await sign({ sub: 'u', iss: 'rackhd', aud: 'other' })))).toBeNull();
  });

  it('reads the token from Authorization too', async () => {
    expect(await verify(request({ authorization: `Bearer ${await sign({ sub: 'h' })}` }))).toMatchObject({ sub: 'h' });
  });

  it('refuses a secret shorter than 32 bytes at construction', () => {
    expect(() => jwtVerifier({ secret: 'short' })).toThrow(/at least 32 bytes/);
  });
});

describe('bearerVerifier (RackHD-style callback)', () => {
  it('hands the token to the callback and returns its principal; no token never calls it', async () => {
    const seen: string[] = [];
    const verify = bearerVerifier(async (token) => {
      seen.push(token);
      return token === 'valid' ? { user: 'admin' } : null;
    });
    expect(await verify(viaProtocol('valid'))).toEqual({ user: 'admin' });
    expect(await verify(viaProtocol('wrong'))).toBeNull();
    expect(await verify(request({}))).toBeNull();
    expect(seen).toEqual(['valid', 'wrong']);
  });
});
