/** The monorail-ws wire protocol: message types, parsing, codes, channels and the params filter. */
export * from './codes.js';
export * from './messages.js';
export * from './errors.js';
export * from './params.js';
export * from './budget.js';
export * from './matches.js';
export * from './parse.js';
export * from './channels.js';
