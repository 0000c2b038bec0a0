import { describe, expect, it } from 'vitest';
import { lineLogger } from '../cli/line-logger.js';
import { MAX_LOGGED_LENGTH, redactSecrets, redactUrl, truncate } from './redact.js';

describe('redactUrl', () => {
  it('keeps the path and the plain parameter names, and replaces every value with ***', () => {
    expect(redactUrl('/nodes')).toBe('/nodes');
    expect(redactUrl('/nodes?token=SECRET')).toBe('/nodes?token=***');
    expect(redactUrl('/nodes?x=1&access_token=SECRET&client_secret=S2')).toBe('/nodes?x=***&access_token=***&client_secret=***');
    expect(redactUrl('/nodes?token=SECRET#frag')).toBe('/nodes?token=***');
    expect(redactUrl(undefined)).toBe('');
  });

  it('replaces whole a parameter without a value or whose name is not a plain word (either might be the secret), and bearer tokens in the path', () => {
    expect(redactUrl('/nodes?eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl')).toBe('/nodes?***');
    expect(redactUrl('/nodes?debug&=x')).toBe('/nodes?***&***');
    expect(redactUrl('/nodes?a%20b=1')).toBe('/nodes?***');
    // Everything after it up to a separator: an opaque token may hold a slash.
    expect(redactUrl('/bearer.SECRET/nodes')).toBe('/bearer.***');
  });

  it('cuts a long URL, saying how long it was', () => {
    const long = redactUrl(`/${'n'.repeat(10_000)}`);
    expect(long.length).toBeLessThan(MAX_LOGGED_LENGTH + 30);
    expect(long).toContain('(10001 chars)');
    expect(truncate('short')).toBe('short');
  });
});

describe('redactSecrets', () => {
  it('scrubs bearer tokens (subprotocol and header forms) and secret-looking name=value pairs from free text', () => {
    expect(redactSecrets('offered monorail-ws, bearer.SECRET1')).toBe('offered monorail-ws, bearer.***');
    expect(redactSecrets('authorization: Bearer SECRET2')).toBe('authorization: Bearer ***');
    expect(redactSecrets('GET /x?token=SECRET3&y=2 apiKey=SECRET4 password=SECRET5 id_token=SECRET6')).toBe(
      'GET /x?token=***&y=2 apiKey=*** password=*** id_token=***',
    );
    expect(redactSecrets('listening on ws://127.0.0.1:9100 {"channels":7}')).toBe('listening on ws://127.0.0.1:9100 {"channels":7}');
  });

  it('is applied by the line logger to every line, whoever logged the secret', () => {
    const lines: string[] = [];
    const log = lineLogger((l) => lines.push(l), 'debug');
    log.error('authenticate threw', { err: new Error('token bearer.SECRET7 rejected'), url: '/n?access_token=SECRET8' });
    log.info('client said Bearer SECRET9');
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).not.toContain('SECRET');
    expect(lines[0]).toContain('bearer.***');
  });
});
