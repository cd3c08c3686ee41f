/** Shared set-up for the MCP server tests: a real sandbox over loopback HTTP and an SDK client. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { XnatClient } from '../../src/client/index.js';
import { createServer, type ServerOptions } from '../../src/server.js';
import type { Logger } from '../../src/mcp/logger.js';

export const ALICE = { user: 'alice', password: 'alice123' } as const;
export const ADMIN = { user: 'admin', password: 'admin' } as const;

export interface Connected {
  mcp: Client;
  xnat: XnatClient;
  close(): Promise<void>;
}

/** Connects an SDK client in memory to a server created by the one factory, XNAT client included. */
export async function connectInMemory(
  sandboxUrl: string,
  credentials: { user: string; password: string } = ALICE,
  options: ServerOptions = {},
  log?: Logger,
): Promise<Connected> {
  const xnat = new XnatClient({ url: sandboxUrl, ...credentials });
  const server = await createServer({ client: xnat, log }, options);
  const mcp = new Client({ name: 'test', version: '0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), mcp.connect(clientSide)]);
  // Lets the SDK client validate every structuredContent against the tool's outputSchema.
  await mcp.listTools();
  return {
    mcp,
    xnat,
    async close() {
      await mcp.close();
      await server.close();
      await xnat.close();
    },
  };
}

export function textOf(result: CallToolResult): string {
  return result.content
    .filter((c): c is { type: 'text'; text: string } => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

/** Calls a tool and returns its result, typed (the SDK's own type is a union with task results). */
export async function call(
  mcp: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<CallToolResult> {
  return (await mcp.callTool({ name, arguments: args })) as CallToolResult;
}

/** Calls a tool that must succeed and returns its structuredContent. */
export async function callOk<T = Record<string, unknown>>(
  mcp: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<T> {
  const result = await call(mcp, name, args);
  if (result.isError) throw new Error(`${name} failed: ${textOf(result)}`);
  if (result.structuredContent === undefined) throw new Error(`${name} returned no structuredContent`);
  return result.structuredContent as T;
}

export interface ListOut<T> {
  items: T[];
  total?: number;
  nextCursor?: string;
}
