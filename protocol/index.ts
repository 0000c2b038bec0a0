/**
 * The monorail-ws wire protocol (message types, parsing, codes, channels, the params filter), and what the client
 * and the server share beside it: the retry policy and the timers type.
 */
export * from './codes.js';
export * from './messages.js';
export * from './errors.js';
export * from './params.js';
export * from './budget.js';
export * from './matches.js';
export * from './topic.js';
export * from './parse.js';
export * from './channels.js';
export * from './backoff.js';
export * from './timers.js';
export type * from './filter.js';
export type * from './records.js';
