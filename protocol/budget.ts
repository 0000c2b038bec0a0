/**
 * The parse-time budget of a frame: how deep it nests, how many keys and array elements it holds, how long its
 * strings and keys are. Checked right after `JSON.parse` and before any other code walks the value, because
 * everything after the parser is recursive or proportional to the value (`JSON.stringify` of an error's echo,
 * `validateParams`, `matches`, the watch index): a 1 MiB frame can nest half a million arrays, and one such value
 * reaching a recursive function ends the process.
 *
 * The walk is iterative (V8's `JSON.parse` is too: it builds a value nested 500,000 deep without overflowing), and
 * stops at the first bound passed, so it costs at most what the budget allows, whatever the frame holds.
 * Browser-safe; the client's parser can use it on what it receives.
 */
import { DEFAULTS } from './codes.js';
import { isPlainObject } from './params.js';

/** The bounds of one frame (`DEFAULTS.inputBudget`); over any of them a server answers `error` `too-large`. */
export interface InputBudget {
  /**
   * Nesting depth of the frame: the frame object is level 1, `params` level 2, a filter's condition level 3.
   * @default DEFAULTS.inputBudget.maxDepth (32)
   */
  readonly maxDepth: number;
  /**
   * Object keys plus array elements in the whole frame, every level counted.
   * @default DEFAULTS.inputBudget.maxNodes (20,000)
   */
  readonly maxNodes: number;
  /**
   * Length (UTF-16 code units, `string.length`) of any string value.
   * @default DEFAULTS.inputBudget.maxStringLength (65,536)
   */
  readonly maxStringLength: number;
  /**
   * Length of any object key, a filter's field path included, and of the frame's `handler` and `resource`: those
   * are names (a handler, a channel) that error replies quote and echo, so they are held to the bound of names.
   * @default DEFAULTS.inputBudget.maxKeyLength (1,024)
   */
  readonly maxKeyLength: number;
}

/** The first bound a value passed, as `overBudget` found it. */
export interface BudgetExcess {
  /** Which bound. */
  readonly bound: keyof InputBudget;
  /**
   * What was measured: the length of the string or key, the depth reached, or the keys and elements counted when
   * the walk stopped (the walk stops at the bound, so a count is not the value's total).
   */
  readonly size: number;
  /**
   * The frame's top-level field it was found in (for a key too long at the top: that key); undefined when it
   * was the value itself (a frame that is one huge string or array).
   */
  readonly field?: string;
  /** Set when it was the frame's `handler` or `resource` string, a name longer than `maxKeyLength`. */
  readonly name?: true;
}

/** The fields a frame's envelope may carry; any other is named "an extra field" in messages, never quoted. */
const ENVELOPE_FIELDS: ReadonlySet<string> = /* @__PURE__ */ new Set(['handler', 'resource', 'params']);
/** Top-level string fields that are names: held to `maxKeyLength`, not `maxStringLength`. */
const NAME_FIELDS = ['handler', 'resource'] as const;

/**
 * The budget with `overrides` applied over `DEFAULTS.inputBudget` (fields left out or `undefined` keep their
 * default).
 * @throws TypeError when a bound is not a positive integer or `Infinity` (no bound).
 */
export function resolveInputBudget(overrides: Partial<InputBudget> = {}): InputBudget {
  const budget: { -readonly [K in keyof InputBudget]: number } = { ...DEFAULTS.inputBudget };
  for (const name of Object.keys(budget) as Array<keyof InputBudget>) {
    const value = overrides[name];
    if (value === undefined) continue;
    if (!(Number.isSafeInteger(value) && value > 0) && value !== Infinity) {
      throw new TypeError(`inputBudget.${name} must be a positive integer or Infinity, got ${String(value)}`);
    }
    budget[name] = value;
  }
  return budget;
}

/**
 * The first bound of `budget` that `value` passes, or undefined when it is within all of them.
 * @param depth The level of `value` itself: 1 for a whole frame (the default), 2 for a frame's `params`, so that
 *   a part measured alone counts as it would in its frame.
 */
export function overBudget(value: unknown, budget: InputBudget, depth = 1): BudgetExcess | undefined {
  if (typeof value === 'string') {
    return value.length > budget.maxStringLength ? { bound: 'maxStringLength', size: value.length } : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth === 1 && isPlainObject(value)) {
    for (const name of NAME_FIELDS) {
      const v = value[name];
      if (typeof v === 'string' && v.length > budget.maxKeyLength)
        return { bound: 'maxKeyLength', size: v.length, field: name, name: true };
    }
  }
  // Containers still to look into, with their level and the top-level field they are under (parallel stacks: no
  // object per entry). Every container pushed was counted in `nodes` first, so the stacks hold at most maxNodes.
  const values: object[] = [value];
  const depths: number[] = [depth];
  const fields: Array<string | undefined> = [undefined];
  let nodes = 0;
  while (values.length > 0) {
    const v = values.pop()!;
    const level = depths.pop()!;
    const top = fields.pop();
    if (level > budget.maxDepth) return { bound: 'maxDepth', size: level, ...(top === undefined ? {} : { field: top }) };
    const isArray = Array.isArray(v);
    // An array's size is known before it is read: a 200,000-element array is refused without a look at them.
    const keys = isArray ? undefined : Object.keys(v);
    nodes += isArray ? v.length : keys!.length;
    if (nodes > budget.maxNodes) return { bound: 'maxNodes', size: nodes, ...(top === undefined ? {} : { field: top }) };
    const count = isArray ? v.length : keys!.length;
    for (let i = 0; i < count; i++) {
      let child: unknown;
      let field = top;
      if (isArray) child = (v as unknown[])[i];
      else {
        const key = keys![i]!;
        if (level === depth && depth === 1) field = key;
        if (key.length > budget.maxKeyLength) return { bound: 'maxKeyLength', size: key.length, ...(field === undefined ? {} : { field }) };
        child = (v as Record<string, unknown>)[key];
      }
      if (typeof child === 'string') {
        if (child.length > budget.maxStringLength) {
          return { bound: 'maxStringLength', size: child.length, ...(field === undefined ? {} : { field }) };
        }
      } else if (child !== null && typeof child === 'object') {
        values.push(child);
        depths.push(level + 1);
        fields.push(field);
      }
    }
  }
  return undefined;
}

/**
 * A message for an excess, quoting nothing from the frame: the envelope field's name when it is one
 * (`handler`, `resource`, `params`), otherwise "an extra field"; sizes and bounds as numbers.
 */
export function describeExcess(excess: BudgetExcess, budget: InputBudget): string {
  const { bound, size, field, name } = excess;
  const where = field === undefined ? 'the frame' : ENVELOPE_FIELDS.has(field) ? `"${field}"` : 'an extra field';
  const limit = budget[bound].toLocaleString('en-US');
  switch (bound) {
    case 'maxDepth':
      return `${where} nests deeper than ${limit} levels (inputBudget.maxDepth)`;
    case 'maxNodes':
      return `the frame holds more than ${limit} keys and array elements (inputBudget.maxNodes; over it in ${where})`;
    case 'maxStringLength':
      return `a string of ${size.toLocaleString('en-US')} characters in ${where}; the limit is ${limit} (inputBudget.maxStringLength)`;
    case 'maxKeyLength':
      return name
        ? `${where} is ${size.toLocaleString('en-US')} characters long; a name is at most ${limit} (inputBudget.maxKeyLength)`
        : `a key of ${size.toLocaleString('en-US')} characters in ${where}; the limit is ${limit} (inputBudget.maxKeyLength)`;
  }
}
