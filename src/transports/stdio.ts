// Before anything else: stdout belongs to JSON-RPC (idempotent if the CLI already imported it).
import './console-to-stderr.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createServer, type ServerDeps, type ServerOptions } from '../server.js';

/**
 * Serves MCP over stdin/stdout until the host closes stdin or `stop` aborts; either way the server
 * is closed, which cancels every running call. Callers must have imported `console-to-stderr.js`
 * first, so that nothing but protocol reaches stdout.
 */
export async function serveStdio(
  deps: ServerDeps,
  options: ServerOptions,
  stop?: AbortSignal,
): Promise<void> {
  const server = await createServer(deps, options);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
    if (stop?.aborted) resolve();
    stop?.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.connect(transport);
  deps.log?.info('MCP server ready on stdio');
  await closed;
  await server.close();
}
