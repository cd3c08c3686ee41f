/**
 * One declaration shape for every tool, and the one function that registers tools on an McpServer.
 * The SDK validates arguments against `inputSchema` and `structuredContent` against `outputSchema`;
 * nothing here validates again. Handlers are thin: call the client core, shape with format.ts.
 * Writing tools are declared through the write pipeline (write.ts), which builds their handler.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ListToolsRequestSchema,
  type CallToolResult,
  type ResourceLink,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import type { XnatClient } from '../client/index.js';
import type { Logger } from './logger.js';
import { describeToolError, type ErrorTarget } from './errors.js';
import { progressSender, type SendProgress } from './progress.js';
import { createSafety, type Safety, type SafetyOptions } from './safety.js';

export const TOOLSETS = ['core', 'browse', 'search', 'query', 'curate', 'transfer', 'prearchive'] as const;
export type Toolset = (typeof TOOLSETS)[number];

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** Every read tool talks to an external archive and changes nothing. */
export const READ_ONLY: ToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
};

/** A tool that changes XNAT: never read-only, always talks to an external archive. */
export function writeAnnotations(hints: { destructive: boolean; idempotent: boolean }): ToolAnnotations {
  return {
    readOnlyHint: false,
    destructiveHint: hints.destructive,
    idempotentHint: hints.idempotent,
    openWorldHint: true,
  };
}

/** What a handler gets besides its arguments. Nothing per session: the same client serves all. */
export interface ToolContext {
  client: XnatClient;
  signal: AbortSignal;
  log: Logger;
  /** Sends notifications/progress when the caller passed a progressToken; otherwise a no-op. Never throws. */
  progress: SendProgress;
  safety: Safety;
}

export type ToolInput<I extends z.ZodRawShape> = z.infer<z.ZodObject<I>>;
export type ToolOutput<O extends z.ZodRawShape> = z.infer<z.ZodObject<O>>;

export interface ToolDefinition<I extends z.ZodRawShape, O extends z.ZodRawShape> {
  name: string;
  title: string;
  /** For a model: what it is for, which IDs it takes and where to get them, related tools. */
  description: string;
  toolset: Toolset;
  /** Every parameter carries `.describe()`. */
  inputSchema: I;
  /**
   * A loose object declares only part of what the tool returns: a write tool that returns what a
   * get* tool shows names the fields it is about, instead of repeating that tool's whole schema.
   */
  outputSchema: O | z.ZodObject<O, z.core.$loose>;
  annotations: ToolAnnotations;
  /** Changes XNAT; read-only mode removes such tools. */
  writes: boolean;
  handler(args: ToolInput<I>, ctx: ToolContext): Promise<ToolOutput<O>>;
  /** Compact text for hosts that show the model only `content`. */
  render(output: ToolOutput<O>): string;
  /** Links to the `xnat://` resources of what the output names. */
  links?(output: ToolOutput<O>): ResourceLink[];
  /** What the call was about, for "not found"/"not allowed" messages. */
  target?(args: ToolInput<I>): ErrorTarget | undefined;
}

export type AnyToolDefinition = ToolDefinition<z.ZodRawShape, z.ZodRawShape>;

/** Identity with inference: keeps each tool's argument and output types precise. */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(
  definition: ToolDefinition<I, O>,
): ToolDefinition<I, O> {
  return definition;
}

export interface ToolDeps {
  client: XnatClient;
  log: Logger;
  safety?: SafetyOptions;
}

type JsonSchema = { [key: string]: unknown };

function isJsonObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What tells a model nothing: `propertyNames` of plain string keys (JSON keys are strings), and in
 * output schemas `additionalProperties: false` (the server still checks every result against the
 * full zod schema before sending it). `required` stays: it says which output fields are always there.
 */
function isNoise(key: string, value: unknown, output: boolean): boolean {
  if (key === 'propertyNames') {
    return isJsonObject(value) && value.type === 'string' && Object.keys(value).length === 1;
  }
  return output && key === 'additionalProperties' && value === false;
}

function compactSchema(schema: unknown, output: boolean): unknown {
  if (Array.isArray(schema)) return schema.map((s) => compactSchema(s, output));
  if (!isJsonObject(schema)) return schema;
  const compact: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (isNoise(key, value, output)) continue;
    // Property names are data, not keywords: only their schemas are compacted.
    compact[key] =
      key === 'properties' && isJsonObject(value)
        ? Object.fromEntries(Object.entries(value).map(([name, s]) => [name, compactSchema(s, output)]))
        : compactSchema(value, output);
  }
  return compact;
}

function listedSchema(schema: z.ZodRawShape | z.ZodObject, io: 'input' | 'output'): Tool['inputSchema'] {
  const object = schema instanceof z.ZodObject ? schema : z.object(schema);
  // Same conversion as the SDK's, minus the `$schema` tag it repeats on every schema.
  const { $schema: _tag, ...json } = z.toJSONSchema(object, { target: 'draft-07', io });
  return compactSchema(json, io === 'output') as Tool['inputSchema'];
}

/**
 * The tools/list entry of a tool. tools/list travels with every model request, so it is kept
 * compact: the SDK's listing would add a `$schema` tag to every schema and the default
 * `execution` to every tool, and keep validation-only keywords in output schemas.
 */
export function listedTool(tool: AnyToolDefinition): Tool {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: listedSchema(tool.inputSchema, 'input'),
    outputSchema: listedSchema(tool.outputSchema, 'output'),
    annotations: tool.annotations,
  };
}

export function registerTools(server: McpServer, tools: readonly AnyToolDefinition[], deps: ToolDeps): void {
  // Without tools the SDK declares no tools capability, and tools/list must not be answered.
  if (tools.length === 0) return;
  for (const tool of tools) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.inputSchema,
        outputSchema: tool.outputSchema,
        annotations: tool.annotations,
      },
      async (args, extra): Promise<CallToolResult> => {
        try {
          // Writes are audited with the XNAT login (one cached lookup), never the configured credential.
          const user = tool.writes ? await deps.client.currentUser({ signal: extra.signal }) : 'unknown';
          const safety = createSafety({
            options: deps.safety ?? {},
            server: server.server,
            sessionId: extra.sessionId,
            request: { id: extra.requestId, signal: extra.signal },
            log: deps.log,
            user: () => user,
          });
          const progress = progressSender(extra._meta?.progressToken, extra.sendNotification);
          const output = await tool.handler(args, {
            client: deps.client,
            signal: extra.signal,
            log: deps.log,
            progress,
            safety,
          });
          return {
            structuredContent: output,
            content: [{ type: 'text', text: tool.render(output) }, ...(tool.links?.(output) ?? [])],
          };
        } catch (err) {
          const text = describeToolError(err, {
            operation: tool.name,
            url: deps.client.url,
            target: tool.target?.(args),
            log: deps.log,
          });
          // Also on the MCP log, for hosts that show server logs; a closed connection is not an error here.
          server
            .sendLoggingMessage({ level: 'warning', logger: tool.name, data: text }, extra.sessionId)
            .catch(() => undefined);
          return { isError: true, content: [{ type: 'text', text }] };
        }
      },
    );
  }
  // Replaces the SDK's tools/list handler (set by the registrations above) with the compact one.
  const listed = tools.map(listedTool);
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: listed }));
}
