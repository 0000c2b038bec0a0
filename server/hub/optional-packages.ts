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

/**
 * What to type for a package: its range, a caret range as its major (`jose@6`: the newest 6.x, which meets
 * `^6.2.18`, and nothing a shell reads specially). Versions are named because a bare name means `latest`, which
 * npm refuses once it leaves the peer range.
 */
function installSpec(name: OptionalPackage): string {
  const range: string = OPTIONAL_PACKAGES[name];
  return `${name}@${range.startsWith('^') ? range.slice(1).split('.')[0] : range}`;
}

/** `npm install <name>@<version> …` for the packages named. */
export function installCommand(...names: OptionalPackage[]): string {
  return `npm install ${names.map(installSpec).join(' ')}`;
}

/** The one command that installs the package with everything its server can use (README, docs/server.md). */
export const SERVER_INSTALL = `npm install monorail-ws ${(Object.keys(OPTIONAL_PACKAGES) as OptionalPackage[]).map(installSpec).join(' ')}`;

/** Features of the server were asked for, and packages they need are not installed. */
export class MissingPackageError extends Error {
  override readonly name = 'MissingPackageError';
  /** Stable, for code that tells this error apart. */
  readonly code = 'MONORAIL_WS_MISSING_PACKAGE';
  /** The packages missing, in the order of `OPTIONAL_PACKAGES`. */
  readonly packages: readonly OptionalPackage[];
  /** The command that installs them all, e.g. `npm install ws@8.23 mongodb@7.9`. */
  readonly command: string;

  constructor(packages: readonly OptionalPackage[], options?: { cause?: unknown }) {
    const ordered = (Object.keys(OPTIONAL_PACKAGES) as OptionalPackage[]).filter((name) => packages.includes(name));
    const command = installCommand(...ordered);
    const needs = ordered.map((name) => `${FEATURES[name]} needs the "${name}" package`).join(', ');
    super(`monorail-ws: ${needs}, ${ordered.length === 1 ? 'which is' : 'which are'} not installed: ${command}`, options);
    this.packages = ordered;
    this.command = command;
  }
}

/**
 * Runs every load at once, and reports every package missing in one error with one command, rather than one
 * package per attempt.
 * @throws MissingPackageError naming every missing package; any other failure as it is.
 */
export async function loadAll(loads: ReadonlyArray<() => Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(loads.map((load) => load()));
  const missing: OptionalPackage[] = [];
  for (const result of results) {
    if (result.status === 'fulfilled') continue;
    if (!(result.reason instanceof MissingPackageError)) throw result.reason;
    missing.push(...result.reason.packages);
  }
  if (missing.length > 0) throw new MissingPackageError(missing);
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
    if (isMissing(err, name)) throw new MissingPackageError([name], { cause: err });
    throw err;
  }
}

/** Node's error for a bare specifier it cannot resolve names the package: `Cannot find package 'ws' imported from …`. */
function isMissing(err: unknown, name: string): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && typeof message === 'string' && message.includes(`'${name}'`);
}
