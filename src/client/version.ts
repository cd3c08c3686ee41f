import { readFileSync } from 'node:fs';

/** Read once from package.json so the CLI, the MCP handshake and the user agent agree. */
function readPackageVersion(): string {
  // Same relative path from src/client (tests) and dist/client (built): two levels below package.json.
  const raw: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const version = typeof raw === 'object' && raw !== null && 'version' in raw ? raw.version : undefined;
  return typeof version === 'string' ? version : '0.0.0';
}

export const VERSION = readPackageVersion();
export const SERVER_NAME = 'xnat-mcp';
