import { describe, expect, it } from 'vitest';
import { isLoopbackHost, LOOPBACK_ORIGINS, originAllowlist, parseOriginPattern, resolveOriginPolicy } from './origin.js';

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST'])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });
  it.each(['0.0.0.0', '::', '10.0.0.5', '192.168.1.1', 'rackhd.example.com', '128.0.0.1', 'localhost.example.com'])('%s is not', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('originAllowlist', () => {
  const allowed = originAllowlist([
    'https://rackhd.example.com',
    'https://*.lab.example.com',
    'http://10.1.1.5:8080',
    'http://localhost:*',
  ]);

  it.each([
    'https://rackhd.example.com',
    'https://RACKHD.example.com',
    'https://ui.lab.example.com',
    'https://a.b.lab.example.com',
    'http://10.1.1.5:8080',
    'http://localhost',
    'http://localhost:5173',
  ])('admits %s', (origin) => {
    expect(allowed(origin)).toBe(true);
  });

  it.each([
    ['another site', 'https://evil.example.net'],
    ['http instead of https', 'http://rackhd.example.com'],
    ['another port', 'https://rackhd.example.com:8443'],
    ['the bare domain of a wildcard', 'https://lab.example.com'],
    ['a look-alike suffix', 'https://evil-lab.example.com'],
    ['a suffix attack on an exact entry', 'https://rackhd.example.com.evil.net'],
    ['a port the exact entry does not name', 'http://10.1.1.5'],
    ['the opaque null origin (sandboxed iframes, file://)', 'null'],
    ['garbage', 'not a url'],
    ['an origin with a path', 'https://rackhd.example.com/x'],
    ['credentials', 'https://user@rackhd.example.com'],
    ['the empty string', ''],
  ])('refuses %s', (_what, origin) => {
    expect(allowed(origin)).toBe(false);
  });

  it('admits requests without Origin: non-browser clients cannot be hijacked cross-site', () => {
    expect(allowed(undefined)).toBe(true);
  });

  it.each(['*', 'rackhd.example.com', 'https://rackhd.example.com/path', 'https://*', 'ftp://x.example.com', 'https://a.*.example.com'])(
    'rejects the pattern %s at start-up with an example of a good one',
    (pattern) => {
      expect(() => parseOriginPattern(pattern)).toThrow(/expected scheme:\/\/host\[:port\]/);
    },
  );
});

describe('resolveOriginPolicy', () => {
  it('on a loopback host admits local pages on any port and refuses others', () => {
    const allowed = resolveOriginPolicy('127.0.0.1', undefined, undefined);
    for (const o of ['http://localhost:5173', 'https://localhost', 'http://127.0.0.1:9100', 'http://[::1]:3000'])
      expect(allowed(o)).toBe(true);
    for (const o of ['https://evil.example.net', 'http://localhost.evil.net', 'http://192.168.1.1']) expect(allowed(o)).toBe(false);
    expect(LOOPBACK_ORIGINS.length).toBe(6);
  });

  it('on another host refuses to start without origins or anyOrigin, saying what to pass', () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.5']) {
      expect(() => resolveOriginPolicy(host, undefined, undefined)).toThrow(/--origin .*--any-origin/s);
    }
  });

  it('origins replace the loopback default; anyOrigin admits everything', () => {
    const listed = resolveOriginPolicy('127.0.0.1', ['https://ui.example.com'], undefined);
    expect(listed('https://ui.example.com')).toBe(true);
    expect(listed('http://localhost:5173')).toBe(false);
    expect(resolveOriginPolicy('0.0.0.0', undefined, true)('https://anything.example')).toBe(true);
  });
});
