/** Library entry: the XNAT client core (client, configuration, errors, models), without MCP. */
export * from './client/index.js';
