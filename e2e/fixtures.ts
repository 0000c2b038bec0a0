/**
 * e2e fixtures: the same specs drive the playground against the in-page mock (`mock` project) and against a
 * real server process on RabbitMQ (`real` project). A `Driver` hides the difference: the mock is driven through
 * its control API on `window.__monorail`, the real server through RackHD-format messages published to the
 * broker with amqplib, exactly as RackHD would publish them. This file is Playwright's `test.extend` and stays
 * beside its specs; what it shares with the vitest suites (the server process, the broker's URL) comes from
 * `test/support/`, and it waits with Playwright's own auto-waiting `expect`.
 */
import { test as base, expect, type BrowserContext, type Page } from '@playwright/test';
import { connect, type ChannelModel, type Channel } from 'amqplib';
import type { Doc } from '../protocol/index.js';
import { demoFixtures } from '../server/demo/fixtures.js';
import { startServer, type ServerProcess } from '../test/support/processes.js';
import { AMQP_URL } from '../test/support/rabbit.js';

/** Project options. */
export interface E2EOptions {
  backend: 'mock' | 'real';
}

/** Drives the backend the page is on. */
export interface Driver {
  readonly kind: 'mock' | 'real';
  /** Creates or replaces a record. */
  upsert(channel: 'nodes' | 'workflows' | 'skus' | 'catalogs', doc: Doc): Promise<void>;
  /** Deletes a record. */
  remove(channel: 'nodes' | 'workflows' | 'skus' | 'catalogs', doc: Doc): Promise<void>;
  /** Appends a log line (a RackHD LogEvent). */
  log(entry: Doc): Promise<void>;
  /** Takes the backend away from the page, runs `whileAway` (changes the page must catch up on), brings it back. */
  outage(page: Page, whileAway: () => Promise<void>): Promise<void>;
}

/** Waterline collection names of the channels the specs change. */
const COLLECTION = { nodes: 'nodes', workflows: 'graphobjects', skus: 'skus', catalogs: 'catalogs' } as const;
const ID_FIELD = { nodes: 'id', workflows: 'instanceId', skus: 'id', catalogs: 'id' } as const;

/** Waits until the page's mock control API exists, then calls one of its methods. */
async function mockCall(page: Page, method: 'upsert' | 'remove' | 'log' | 'refuse' | 'dropAll', ...args: unknown[]): Promise<void> {
  await page.waitForFunction(() => Boolean((window as unknown as { __monorail?: { mock?: unknown } }).__monorail?.mock));
  await page.evaluate(
    ([m, a]) => {
      const mock = (window as unknown as { __monorail: { mock: Record<string, (...x: unknown[]) => unknown> } }).__monorail.mock;
      mock[m as string]!(...(a as unknown[]));
    },
    [method, args] as const,
  );
}

function mockDriver(page: Page): Driver {
  return {
    kind: 'mock',
    upsert: (channel, doc) => mockCall(page, 'upsert', channel, doc),
    remove: (channel, doc) => mockCall(page, 'remove', channel, String(doc[ID_FIELD[channel]])),
    log: (entry) => mockCall(page, 'log', entry),
    async outage(p, whileAway) {
      // As when the server dies: new connections fail and every open one drops (1006).
      await mockCall(p, 'refuse', true);
      await mockCall(p, 'dropAll');
      await whileAway();
      await mockCall(p, 'refuse', false);
    },
  };
}

/** A server process on the broker with its own exchange prefix, restartable on the same port. */
export class RealServer {
  proc!: ServerProcess;
  readonly prefix = `e2e-${process.pid}-${Date.now().toString(36)}.`;
  private conn?: ChannelModel;
  private channel?: Channel;
  /** Ids this run has created, so a second upsert is an `updated` waterline event, as RackHD sends it. */
  private readonly known = new Set<string>(Object.values(demoFixtures()).flatMap((docs) => docs.map((d) => String(d.id ?? d.instanceId))));

  async start(port = 0): Promise<void> {
    this.proc = await startServer(['--port', String(port), '--amqp', AMQP_URL, '--exchange-prefix', this.prefix]);
  }

  get url(): string {
    return this.proc.url;
  }

  /** Stops the process and starts a new one on the same port (its memory backend starts from the seed again). */
  async restart(): Promise<void> {
    const port = this.proc.port;
    await this.proc.stop('SIGTERM');
    this.known.clear();
    for (const docs of Object.values(demoFixtures())) for (const d of docs) this.known.add(String(d.id ?? d.instanceId));
    await this.start(port);
  }

  async publish(exchange: 'on.waterline' | 'on.logging', routingKey: string, payload: unknown): Promise<void> {
    if (!this.channel) {
      this.conn = await connect(AMQP_URL);
      const ch = await this.conn.createConfirmChannel();
      for (const name of ['on.waterline', 'on.logging', 'on.events'])
        await ch.assertExchange(this.prefix + name, 'topic', { durable: true });
      this.channel = ch;
    }
    this.channel.publish(this.prefix + exchange, routingKey, Buffer.from(JSON.stringify(payload)), { contentType: 'application/json' });
    await (this.channel as Channel & { waitForConfirms(): Promise<void> }).waitForConfirms();
  }

  driver(context: BrowserContext): Driver {
    const waterline = async (channel: keyof typeof COLLECTION, event: 'created' | 'updated' | 'destroyed', record: Doc) => {
      const id = String(record[ID_FIELD[channel]]);
      await this.publish('on.waterline', `${COLLECTION[channel]}.${event}.${id}`, { event, record });
    };
    return {
      kind: 'real',
      upsert: async (channel, doc) => {
        const id = String(doc[ID_FIELD[channel]]);
        await waterline(channel, this.known.has(id) ? 'updated' : 'created', doc);
        this.known.add(id);
      },
      remove: async (channel, doc) => {
        this.known.delete(String(doc[ID_FIELD[channel]]));
        await waterline(channel, 'destroyed', doc);
      },
      log: (entry) => this.publish('on.logging', String(entry.level ?? 'info'), entry),
      outage: async (page, whileAway) => {
        // Hold the page offline while the server process restarts and RackHD keeps publishing.
        await context.setOffline(true);
        await this.restart();
        await whileAway();
        await expect(page.getByTestId('state-nodes')).toContainText('reconnecting');
        await context.setOffline(false);
      },
    };
  }

  async close(): Promise<void> {
    await this.conn?.close().catch(() => undefined);
    if (this.proc) await this.proc.stop('SIGTERM');
  }
}

/** The playground's URL for a backend. */
function pageUrl(backendUrl: string | undefined): string {
  const params = new URLSearchParams({ backend: backendUrl ?? 'mock', maxBackoff: '1000' });
  return `/?${params.toString()}`;
}

export const test = base.extend<{ driver: Driver; realServer: RealServer | undefined; open: () => Promise<void> }, E2EOptions>({
  backend: ['mock', { option: true, scope: 'worker' }],
  // A fresh server per test keeps specs independent; starting one costs well under a second.
  realServer: async ({ backend }, use) => {
    if (backend !== 'real') return use(undefined);
    const server = new RealServer();
    await server.start();
    await use(server);
    await server.close();
  },
  driver: async ({ page, context, realServer }, use) => {
    await use(realServer ? realServer.driver(context) : mockDriver(page));
  },
  open: async ({ page, realServer }, use) => {
    await use(async () => {
      await page.goto(pageUrl(realServer?.url));
      await expect(page.getByTestId('state-nodes')).toHaveText('open');
    });
  },
});

export { expect };
