/**
 * The server's optional packages: the table agrees with package.json, a missing package fails with the command that
 * installs it, and nothing else passes for a missing package. test/package.test.ts installs the packed package
 * without them and meets these errors for real.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { installCommand, loadAll, loadOptional, MissingPackageError, OPTIONAL_PACKAGES, SERVER_INSTALL } from './optional-packages.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

/** What Node's loader throws for a bare specifier nobody installed (imported for real, so the shape is Node's). */
async function notFound(): Promise<Error & { code: string }> {
  const name = 'monorail-ws-no-such-package';
  const err = (await import(name).then(
    () => undefined,
    (e: unknown) => e,
  )) as Error & { code: string };
  expect(err.code).toBe('ERR_MODULE_NOT_FOUND');
  expect(err.message).toContain(`'${name}'`);
  return err;
}

describe('optional packages', () => {
  it('are package.json’s optional peer dependencies, with the same ranges, also in devDependencies so tests have them', () => {
    expect(pkg.peerDependencies).toMatchObject(OPTIONAL_PACKAGES);
    for (const [name, range] of Object.entries(OPTIONAL_PACKAGES)) {
      expect(pkg.peerDependenciesMeta[name], name).toEqual({ optional: true });
      expect(pkg.devDependencies[name], name).toBe(range);
      expect(pkg.dependencies[name], name).toBeUndefined();
    }
    expect(pkg.dependencies['isomorphic-ws'], 'isomorphic-ws requires ws as a peer: npm would install ws').toBeUndefined();
  });

  it('a missing one fails with what needs it and the command that installs it', async () => {
    const real = await notFound();
    const nodeSays = Object.assign(new Error(real.message.replace('monorail-ws-no-such-package', 'mongodb')), { code: real.code });
    const err = await loadOptional('mongodb', () => Promise.reject(nodeSays)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingPackageError);
    expect(err).toMatchObject({ code: 'MONORAIL_WS_MISSING_PACKAGE', packages: ['mongodb'], command: 'npm install mongodb@7.9' });
    expect((err as Error).cause).toBe(nodeSays);
    expect((err as Error).message).toBe(
      'monorail-ws: MongoDB (--mongo, createServer({mongo})) needs the "mongodb" package, which is not installed: npm install mongodb@7.9',
    );
  });

  it('loadAll reports every missing package in one error, with one command, in a fixed order', async () => {
    const missing = (name: 'ws' | 'mongodb' | 'jose') => () => Promise.reject(new MissingPackageError([name]));
    const err = (await loadAll([missing('jose'), () => Promise.resolve(), missing('ws'), missing('mongodb')]).catch(
      (e: unknown) => e,
    )) as MissingPackageError;
    expect(err.packages).toEqual(['ws', 'mongodb', 'jose']);
    expect(err.message).toBe(
      'monorail-ws: the server (createServer, monorail-ws serve) needs the "ws" package, MongoDB (--mongo, createServer({mongo})) ' +
        'needs the "mongodb" package, JWT authentication (MONORAIL_JWT_SECRET, jwtVerifier) needs the "jose" package, which are not ' +
        'installed: npm install ws@8.23 mongodb@7.9 jose@6',
    );
    const other = new Error('broken');
    await expect(loadAll([missing('ws'), () => Promise.reject(other)])).rejects.toBe(other);
    await expect(loadAll([() => Promise.resolve(1)])).resolves.toBeUndefined();
  });

  it('only the package itself missing counts: a missing dependency of it, or any other failure, is thrown as it is', async () => {
    const other = await notFound();
    await expect(loadOptional('mongodb', () => Promise.reject(other))).rejects.toBe(other);
    const broken = new SyntaxError('Unexpected token');
    await expect(loadOptional('ws', () => Promise.reject(broken))).rejects.toBe(broken);
    await expect(loadOptional('ws', () => Promise.resolve(42))).resolves.toBe(42);
  });

  it('install commands are safe to paste into a shell, and one command installs everything the server can use', () => {
    expect(installCommand('ws')).toBe('npm install ws@8.23');
    expect(installCommand('jose')).toBe('npm install jose@6');
    expect(SERVER_INSTALL).toBe('npm install monorail-ws ws@8.23 mongodb@7.9 amqplib@2.3 jose@6');
  });
});
