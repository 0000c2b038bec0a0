import { describe, expect, it } from 'vitest';
import { CLIENT_DEFAULTS, CLOSE_CODES, CloseCode, DEFAULTS, ERROR_CODES, NO_RETRY_CODES } from './codes.js';
import * as protocol from './index.js';

describe('close codes', () => {
  it('are the table of PROTOCOL.md, Close codes', () => {
    expect(CloseCode).toEqual({
      Normal: 1000,
      GoingAway: 1001,
      Abnormal: 1006,
      OriginNotAllowed: 1008,
      PolicyViolation: 1008,
      TooBig: 1009,
      InternalError: 1011,
      Overloaded: 1013,
      Unauthenticated: 4401,
      Forbidden: 4403,
      RateLimited: 4429,
    });
  });

  it('every close code has a meaning and a retry policy, and CLOSE_CODES lists no other code', () => {
    // Two names may share a code (1008: origin not allowed, policy violation); the table has one row per code.
    const codes = [...new Set(Object.values(CloseCode))].sort();
    expect(Object.keys(CLOSE_CODES).map(Number).sort()).toEqual(codes);
    for (const code of codes) expect(CLOSE_CODES[code].meaning.length).toBeGreaterThan(0);
  });

  it('the client stops retrying only after 4401 and 4403 (1000 after its own disconnect is its own decision)', () => {
    const noRetry = Object.entries(CLOSE_CODES)
      .filter(([, c]) => !c.retry)
      .map(([code]) => Number(code));
    expect(noRetry.sort()).toEqual([CloseCode.Unauthenticated, CloseCode.Forbidden]);
    // The client reads NO_RETRY_CODES, not the table: they must say the same.
    expect([...NO_RETRY_CODES].sort()).toEqual(noRetry.sort());
  });

  it('CLIENT_DEFAULTS is the part of DEFAULTS the client reads, value for value', () => {
    for (const [key, value] of Object.entries(CLIENT_DEFAULTS)) expect(DEFAULTS[key as keyof typeof DEFAULTS]).toEqual(value);
  });

  it('application codes are in the 4000–4999 range, protocol codes are standard', () => {
    for (const code of Object.values(CloseCode)) {
      expect(code >= 4000 ? code < 5000 : code >= 1000 && code < 1016).toBe(true);
    }
  });
});

describe('error codes', () => {
  it('include every code PROTOCOL.md names for bad input, each with a description', () => {
    const named = ['bad-json', 'bad-message', 'unknown-handler', 'bad-params', 'unknown-channel', 'source-unavailable'];
    for (const code of named) {
      expect(ERROR_CODES).toHaveProperty(code);
    }
    for (const [code, description] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(description.length).toBeGreaterThan(0);
    }
  });
});

describe('defaults', () => {
  it('are the numbers PROTOCOL.md and docs/client.md state', () => {
    expect(DEFAULTS.maxPayload).toBe(1024 * 1024);
    expect(DEFAULTS.historyLimit).toBe(1000);
    expect(DEFAULTS.maxQueue).toBe(1000);
    expect(DEFAULTS.backoff).toEqual({ baseMs: 500, maxMs: 30_000, factor: 2, jitter: 1, resetAfterMs: 5_000 });
    expect(DEFAULTS.clientPingAfterMs).toBe(20_000);
    expect(DEFAULTS.clientPongTimeoutMs).toBe(10_000);
    expect(DEFAULTS.subprotocol).toBe('monorail-ws');
  });
});

describe('protocol index', () => {
  it('exports the names other modules build on', () => {
    const names = [
      'parseMessage',
      'stringifyMessage',
      'stringifyList',
      'validateParams',
      'canonicalJson',
      'paramFields',
      'matches',
      'valuesAt',
      'jsonEqual',
      'project',
      'isPlainObject',
      'isOperatorObject',
      'channelInfo',
      'channelFromUrl',
      'CHANNELS',
      'CloseCode',
      'CLOSE_CODES',
      'ERROR_CODES',
      'DEFAULTS',
      'ProtocolError',
    ];
    for (const name of names) expect(protocol).toHaveProperty(name);
  });
});
