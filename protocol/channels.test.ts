import { describe, expect, it } from 'vitest';
import { CHANNELS, CHANNEL_ALIASES, channelFromUrl, channelInfo, storeDefaults } from './channels.js';

describe('CHANNELS', () => {
  it('lists RackHD’s channels with their id fields (docs/rackhd.md, Channels)', () => {
    const names = [
      'catalogs',
      'events',
      'files',
      'graphdefinitions',
      'logs',
      'lookups',
      'mq',
      'nodes',
      'pollers',
      'profiles',
      'skus',
      'taskdefinitions',
      'templates',
      'workflows',
    ];
    expect(Object.keys(CHANNELS).sort()).toEqual(names);
    expect(CHANNELS.workflows.idField).toBe('instanceId');
    for (const name of names.filter((n) => n !== 'workflows')) expect(channelInfo(name).idField).toBe('id');
  });

  it('logs, events and mq are the append-only channels', () => {
    const appendOnly = Object.entries(CHANNELS)
      .filter(([, info]) => info.appendOnly)
      .map(([name]) => name)
      .sort();
    expect(appendOnly).toEqual(['events', 'logs', 'mq']);
  });
});

describe('channelInfo', () => {
  it('returns the info of a channel and of its alias (graphObjs is workflows)', () => {
    expect(channelInfo('nodes')).toEqual({ idField: 'id', appendOnly: false });
    expect(channelInfo('graphObjs')).toBe(CHANNELS.workflows);
    expect(CHANNEL_ALIASES.graphObjs).toBe('workflows');
  });

  it("answers to RackHD's 1.x socket names: graphDefs and taskDefs are their collections", () => {
    expect(CHANNEL_ALIASES).toEqual({ graphObjs: 'workflows', graphDefs: 'graphdefinitions', taskDefs: 'taskdefinitions' });
    expect(channelInfo('graphDefs')).toBe(CHANNELS.graphdefinitions);
    expect(channelInfo('taskDefs')).toBe(CHANNELS.taskdefinitions);
  });

  it('gives custom channels the default info', () => {
    expect(channelInfo('racks')).toEqual({ idField: 'id', appendOnly: false });
  });

  it('treats Object.prototype names as ordinary unknown channels (regression: alias lookup hit the prototype)', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      expect(channelInfo(name)).toEqual({ idField: 'id', appendOnly: false });
    }
  });
});

describe('storeDefaults', () => {
  it('answers as channelInfo does for every channel, alias, custom channel and Object.prototype name', () => {
    const names = [
      ...Object.keys(CHANNELS),
      ...Object.keys(CHANNEL_ALIASES),
      'racks',
      '',
      'Workflows',
      'constructor',
      'toString',
      '__proto__',
      'hasOwnProperty',
    ];
    for (const name of names) expect([name, storeDefaults(name)]).toEqual([name, channelInfo(name)]);
  });
});

describe('channelFromUrl', () => {
  const cases: Array<[string, string]> = [
    ['ws://localhost:9100/nodes', 'nodes'],
    ['ws://localhost:9100/nodes/', 'nodes'],
    ['wss://example.com/api/ws/workflows', 'workflows'],
    ['ws://localhost:9100/nodes?token=abc', 'nodes'],
    ['ws://localhost:9100/nodes#frag', 'nodes'],
    ['ws://[::1]:9100/logs', 'logs'],
    ['ws://localhost:9100', ''],
    ['ws://localhost:9100/', ''],
    ['/nodes', 'nodes'],
    ['/api/ws/nodes/', 'nodes'],
    ['nodes', 'nodes'],
    ['/', ''],
    ['', ''],
    ['ws://localhost:9100/my%20channel', 'my channel'],
    ['ws://localhost:9100/bad%E0%A4%A', 'bad%E0%A4%A'],
    // Regression: a "/" in the query string was taken for the start of the path.
    ['ws://localhost:9100?redirect=/nodes', ''],
    ['ws://localhost:9100/skus?next=/a/b', 'skus'],
    ['ws://localhost:9100#/nodes', ''],
  ];
  for (const [url, channel] of cases) {
    it(`${JSON.stringify(url)} → ${JSON.stringify(channel)}`, () => {
      expect(channelFromUrl(url)).toBe(channel);
    });
  }
});
