/**
 * What the cohort tests share: an MCP server over Streamable HTTP on an XNAT client, a real SDK
 * Client that records audit lines and elicitations, and calls that return a cohort's result.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  type CallToolResult,
  type ElicitRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { XnatClient } from '../../src/client/index.js';
import type { CohortOutput } from '../../src/mcp/cohort.js';
import type { ServerOptions } from '../../src/server.js';
import { startHttpServer } from '../../src/transports/http.js';
import { textOf } from './helpers.js';

export interface CohortConnection {
  mcp: Client;
  /** Audit lines as the client received them. */
  audits: string[];
  elicitations: ElicitRequest['params'][];
  close(): Promise<void>;
}

/** A server with the curate and qc toolsets; `elicit` makes the client answer confirmations so. */
export async function connectCohort(
  xnat: XnatClient,
  options: ServerOptions = {},
  elicit?: 'accept' | 'decline',
): Promise<CohortConnection> {
  const server = await startHttpServer(
    { client: xnat },
    { toolsets: ['curate', 'qc'], ...options },
    { port: 0 },
  );
  const mcp = new Client(
    { name: 'cohort-test', version: '0' },
    { capabilities: elicit ? { elicitation: { form: {} } } : {} },
  );
  const connection: CohortConnection = {
    mcp,
    audits: [],
    elicitations: [],
    async close() {
      await mcp.close();
      await server.close();
    },
  };
  if (elicit) {
    mcp.setRequestHandler(ElicitRequestSchema, (request) => {
      connection.elicitations.push(request.params);
      return elicit === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' };
    });
  }
  mcp.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    if (n.params.logger === 'audit') connection.audits.push(String(n.params.data));
  });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(server.url)));
  await mcp.setLoggingLevel('info');
  await mcp.listTools();
  return connection;
}

/** A tool call and the progress values it reported. */
export async function callTool(mcp: Client, name: string, args: Record<string, unknown>) {
  const progress: number[] = [];
  const result = (await mcp.callTool({ name, arguments: args }, undefined, {
    onprogress: (p) => progress.push(p.progress),
    timeout: 120_000,
  })) as CallToolResult;
  return { result, progress };
}

/** A cohort call's `cohort` result; a tool error fails with its text. */
export async function cohortOf(
  mcp: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<CohortOutput> {
  const { result } = await callTool(mcp, name, args);
  if (result.isError) throw new Error(`${name} failed: ${textOf(result)}`);
  const cohort = (result.structuredContent as { cohort?: CohortOutput }).cohort;
  if (cohort === undefined) throw new Error(`${name} returned no cohort`);
  return cohort;
}
