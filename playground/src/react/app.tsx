/**
 * The React page's components: what a UI developer writes with `monorail-ws/react`. The type filter is state; every
 * change of it moves the live query (`setParams`), and the previous rows stay, dimmed, until the new ones arrive.
 */
import { useState } from 'react';
import type { Doc } from '../../../client/index.js';
import { useChannel, useConnectionState, useLive } from '../../../react/index.js';

const TYPES = ['compute', 'switch', 'pdu', 'enclosure', 'all'] as const;

export function App({ backend }: { backend: string }) {
  const [type, setType] = useState<(typeof TYPES)[number]>('compute');
  return (
    <main className="grid">
      <section className="panel nodes">
        <h2>
          nodes <ConnectionState />
        </h2>
        <p>
          backend <span data-testid="backend">{backend}</span>
        </p>
        <label>
          type{' '}
          <select data-testid="type-filter" value={type} onChange={(e) => setType(e.target.value as (typeof TYPES)[number])}>
            {TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <Nodes type={type} />
      </section>
    </main>
  );
}

function ConnectionState() {
  const state = useConnectionState(useChannel('nodes'));
  return (
    <span className={`state ${state}`} data-testid="state-nodes">
      {state}
    </span>
  );
}

function Nodes({ type }: { type: string }) {
  // An inline literal: compared by value, so a re-render opens nothing new.
  const { data, status, error, isPrevious } = useLive(useChannel('nodes'), type === 'all' ? {} : { type });
  return (
    <>
      <p>
        <span data-testid="status">{status}</span>
        {isPrevious ? <span data-testid="previous"> · previous filter until the new list</span> : null}
        {error ? <span data-testid="error"> · {error.code}</span> : null}
        {' · '}
        <span data-testid="count">{data.length}</span> nodes
      </p>
      <table style={{ opacity: isPrevious || status === 'stale' ? 0.5 : 1 }}>
        <tbody>
          {data.map((n: Doc) => (
            <tr key={String(n.id)} data-testid="node-row" data-id={String(n.id)}>
              <td data-testid="node-name">{String(n.name)}</td>
              <td>{String(n.type)}</td>
              <td>{String(n.sku ?? '')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
