/**
 * Imported first by the CLI: on stdio, stdout carries JSON-RPC only, so anything (ours or a
 * dependency's) that prints through console.log/info/debug goes to stderr instead. The CLI writes
 * its deliberate output (help, check results, demo banner) with process.stdout.write.
 */
const toStderr = (...args: unknown[]): void => console.error(...args);
/* eslint-disable no-console -- reassigning, not printing: this is the redirect the rule protects */
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;
/* eslint-enable no-console */
