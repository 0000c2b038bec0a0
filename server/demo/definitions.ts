/**
 * Demo records of the six resources RackHD's 1.x socket server also served, shaped like on-core's waterline models
 * (`lib/models/graph-definition.js`, `task-definition.js`, `renderable.js` for templates and profiles, `file.js`,
 * `lookup.js`): the graphs and tasks the demo workflows run, the scripts and iPXE profiles they render, a firmware
 * file, and the MAC/IP lookups of the demo nodes. Deterministic and browser-safe, like the rest of the demo data.
 */
import type { Doc } from '../../protocol/index.js';
import { iso, mac, objectId, uuid } from './ids.js';

/** The tasks every demo graph runs (the labels of the demo workflows' tasks). */
const TASKS = ['bootstrap-ubuntu', 'catalog-dmi', 'catalog-bmc', 'node-discovered'];

/** Builds a graph definition (`graphdefinitions`): a named list of tasks, each waiting on the one before. */
export function makeGraphDefinition(n: number, injectableName: string, friendlyName: string, tasks: readonly string[] = TASKS): Doc {
  return {
    id: objectId(6, n),
    friendlyName,
    injectableName,
    tasks: tasks.map((label, i) => ({ label, taskName: `Task.${label}`, ...(i > 0 ? { waitOn: { [tasks[i - 1]!]: 'succeeded' } } : {}) })),
    options: {},
    createdAt: iso(10 + n),
    updatedAt: iso(10 + n),
  };
}

/** Builds a task definition (`taskdefinitions`). */
export function makeTaskDefinition(n: number, label: string): Doc {
  return {
    id: objectId(7, n),
    friendlyName: label.replace(/-/g, ' '),
    injectableName: `Task.${label}`,
    implementsTask: label.startsWith('catalog') ? 'Task.Base.Linux.Catalog' : 'Task.Base.Linux.Commands',
    options: { commands: [`sudo ${label}`] },
    properties: {},
    createdAt: iso(20 + n),
    updatedAt: iso(20 + n),
  };
}

/** Builds a renderable (`templates` and `profiles` share on-core's renderable model): name, scope, hash, path. */
export function makeRenderable(kind: 8 | 9, n: number, name: string): Doc {
  const folder = kind === 8 ? 'templates' : 'profiles';
  return {
    id: objectId(kind, n),
    name,
    scope: 'global',
    hash: objectId(kind, n).slice(0, 16),
    path: `/var/renasar/on-http/data/${folder}/${name}`,
    createdAt: iso(30 + n),
    updatedAt: iso(30 + n),
  };
}

/** Builds a file record (`files`): what on-http keeps about an uploaded file. */
export function makeFile(n: number, basename: string): Doc {
  const hex = objectId(10, n);
  return {
    id: hex,
    basename,
    filename: `${basename}_${uuid(500 + n)}`,
    uuid: uuid(500 + n),
    md5: hex.padEnd(32, '0').slice(0, 32),
    sha256: hex.repeat(3).slice(0, 64),
    version: 0,
    createdAt: iso(40 + n),
    updatedAt: iso(40 + n),
  };
}

/** Builds a lookup (`lookups`): which node a MAC address belongs to, and the IP it leased. */
export function makeLookup(n: number, node: string | null, macAddress: string, ipAddress: string): Doc {
  return { id: objectId(11, n), node, macAddress, ipAddress, createdAt: iso(50 + n), updatedAt: iso(50 + n) };
}

/** The six resources' demo records, by channel; lookups cover the given nodes plus one MAC not yet discovered. */
export function definitionFixtures(nodes: readonly Doc[]): Record<string, Doc[]> {
  const graphdefinitions = [
    makeGraphDefinition(1, 'Graph.SKU.Discovery', 'SKU Discovery'),
    makeGraphDefinition(2, 'Graph.InstallUbuntu', 'Install Ubuntu', ['bootstrap-ubuntu', 'install-ubuntu']),
    makeGraphDefinition(3, 'Graph.Firmware.Update', 'Firmware Update', ['bootstrap-ubuntu', 'firmware-update']),
  ];
  const labels = [...new Set([...TASKS, 'install-ubuntu', 'firmware-update'])];
  const taskdefinitions = labels.map((label, i) => makeTaskDefinition(i + 1, label));
  const templates = ['bootstrap.sh', 'install-ubuntu.preseed', 'firmware-update.sh'].map((name, i) => makeRenderable(8, i + 1, name));
  const profiles = ['redirect.ipxe', 'linux.ipxe', 'install-ubuntu.ipxe'].map((name, i) => makeRenderable(9, i + 1, name));
  const files = [makeFile(1, 'bios-2.61.bin'), makeFile(2, 'ubuntu-22.04.iso')];
  const lookups = nodes.map((node, i) =>
    makeLookup(i + 1, String(node.id), (node.identifiers as string[] | undefined)?.[0] ?? mac(i + 1), `172.31.128.${100 + i}`),
  );
  lookups.push(makeLookup(nodes.length + 1, null, mac(200), '172.31.128.250'));
  return { graphdefinitions, taskdefinitions, templates, profiles, files, lookups };
}
