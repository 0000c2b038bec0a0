/**
 * The packages only the server uses. package.json lists them as optional peer dependencies, so an application
 * that installs monorail-ws for its client and mock gets none of them (mongodb alone brings 4.4 MB, bson 2.3 MB).
 * The server loads each with `import()` where a feature needs it — a static import would fail when the module
 * is linked, before any code could say what is missing — and a missing one fails with the command that
 * installs it. docs/server.md "Install" lists them.
 */

/** Each package, with the range package.json's `peerDependencies` gives it (test/package.test.ts keeps them equal). */
export const OPTIONAL_PACKAGES = {
  ws: '8.23',
  mongodb: '7.9',
  amqplib: '2.3',
  jose: '^6.2.18',
} as const;

export type OptionalPackage = keyof typeof OPTIONAL_PACKAGES;

/** What needs each package, as an operator meets it (the CLI flag or variable, the `createServer` option). */
const FEATURES: Record<OptionalPackage, string> = {
  ws: 'the server (createServer, monorail-ws serve)',
  mongodb: 'MongoDB (--mongo, createServer({mongo}))',
  amqplib: 'RabbitMQ (--amqp, createServer({amqp}))',
  jose: 'JWT authentication (MONORAIL_JWT_SECRET, jwtVerifier)',
};

/** The one command that installs the package with everything its server can use (README, docs/server.md). */
export const SERVER_INSTALL = `npm install monorail-ws ${Object.keys(OPTIONAL_PACKAGES).join(' ')}`;

/** `npm install <name>@<range>`, quoted when the range holds a character a shell may read (`^`). */
export function installCommand(name: OptionalPackage): string {
  const spec = `${name}@${OPTIONAL_PACKAGES[name]}`;
  return `npm install ${/^[\w.@-]+$/.test(spec) ? spec : `"${spec}"`}`;
}

/** A feature of the server was asked for, and the package it needs is not installed. */
export class MissingPackageError extends Error {
  override readonly name = 'MissingPackageError';
  /** Stable, for code that tells this error apart. */
  readonly code = 'MONORAIL_WS_MISSING_PACKAGE';
  readonly packageName: OptionalPackage;
  /** The command that installs it, e.g. `npm install mongodb@7.9`. */
  readonly command: string;

  constructor(packageName: OptionalPackage, options?: { cause?: unknown }) {
    const command = installCommand(packageName);
    super(`monorail-ws: ${FEATURES[packageName]} needs the "${packageName}" package, which is not installed: ${command}`, options);
    this.packageName = packageName;
    this.command = command;
  }
}

/**
 * Runs `load` (an `import()` of `name`, written at the call site so bundlers and TypeScript see the specifier).
 * @throws MissingPackageError when `name` itself cannot be found; any other failure (a broken install, a missing
 *   dependency of the package) as it is.
 */
export async function loadOptional<T>(name: OptionalPackage, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (isMissing(err, name)) throw new MissingPackageError(name, { cause: err });
    throw err;
  }
}

/** Node's error for a bare specifier it cannot resolve names the package: `Cannot find package 'ws' imported from …`. */
function isMissing(err: unknown, name: string): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && typeof message === 'string' && message.includes(`'${name}'`);
}
