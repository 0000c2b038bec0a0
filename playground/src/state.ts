/** What the user selected (a node or a workflow), shared by the views, with change notification. */

export interface Selection {
  nodeId?: string;
  workflowId?: string;
}

type Listener = (selection: Selection) => void;

/** The selection and its listeners. */
export class SelectionState {
  private current: Selection = {};
  private readonly listeners = new Set<Listener>();

  get value(): Selection {
    return this.current;
  }

  /** Selects a node (and clears the workflow) or a workflow of a node. */
  set(next: Selection): void {
    if (next.nodeId === this.current.nodeId && next.workflowId === this.current.workflowId) return;
    this.current = { ...next };
    for (const fn of this.listeners) fn(this.current);
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
