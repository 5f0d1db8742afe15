/**
 * The bundled reference Miscord backend. It stands alone: it imports only src/protocol,
 * src/clock, src/log and src/errors, never the bench side.
 */
export { createReferenceServer, type ReferenceServer } from './reference-server.js';
export { resolveOptions, type ReferenceServerOptions, type ResolvedOptions } from './options.js';
export { FAULTS, FAULT_NAMES, faultsHelp, isFaultName, type FaultName } from './faults.js';
