/**
 * One declaration shape for every tool, and the one function that registers tools on an McpServer.
 * The SDK validates arguments against `inputSchema` and `structuredContent` against `outputSchema`;
 * nothing here validates again. Handlers are thin: call the client core, shape with format.ts.
 * Writing tools are declared through the write pipeline (write.ts), which builds their handler.
 */
import type { McpServer, ToolCallback } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ListToolsRequestSchema,
  type CallToolResult,
  type ImageContent,
  type ResourceLink,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import type { XnatClient } from '../client/index.js';
import type { RunningCalls } from './calls.js';
import type { Logger } from './logger.js';
import { describeToolError, type ErrorTarget } from './errors.js';
import { boundStrings, fitBudget, imageTokens, shortenedNote } from './format.js';
import { progressSender, type SendProgress } from './progress.js';
import { createSafety, type Safety, type SafetyOptions } from './safety.js';
import { serverParam } from './params.js';
import { singleServer, type ServerDirectory } from './servers.js';

export const TOOLSETS = [
  'core',
  'browse',
  'search',
  'query',
  'curate',
  'transfer',
  'imaging',
  'qc',
  'prearchive',
  'access',
  'bids',
  'processing',
  'copy',
] as const;
export type Toolset = (typeof TOOLSETS)[number];

/**
 * What a server lists when no toolsets are chosen. The rest are switched on by --toolsets /
 * XNAT_MCP_TOOLSETS or at run time (enableToolsets): tools/list travels with every model request,
 * so the default stays at or under ~25 tools and ~10k tokens (test/server/toolsets.test.ts).
 */
export const DEFAULT_TOOLSETS: readonly Toolset[] = [
  'core',
  'browse',
  'search',
  'curate',
  'transfer',
  'imaging',
];

/** One line per toolset, for a model choosing what to switch on. */
export const TOOLSET_SUMMARIES: Record<Toolset, string> = {
  core: 'server info, switching toolsets on',
  browse: 'projects, subjects, experiments, scans and files',
  search: 'subjects and experiments by field',
  query: 'any data type by any field, grouped counts, saved searches, exports to files',
  curate: 'create, update, share, quarantine, delete',
  transfer: 'upload and download files',
  imaging: 'DICOM headers, scan images',
  qc: 'visual QC: rate scans, manual QC assessments, XNAT snapshots (writes)',
  prearchive: 'prearchive sessions, archiving, DICOM import',
  access: "project members and roles (add, change, remove), the site's users, the current user",
  bids: 'export projects as BIDS datasets (plan first with dryRun)',
  processing: 'container service pipelines: find, launch on sessions, watch jobs, kill (writes)',
  copy: 'copy subjects and experiments between XNAT servers or projects (writes)',
};

export interface ToolsetState {
  name: Toolset;
  enabled: boolean;
  /** The tools it brings (read-only mode removes the writing ones). */
  tools: string[];
}

/** Switches toolsets on for one server (one MCP session); the server owns it. */
export interface ToolsetControl {
  list(): Promise<ToolsetState[]>;
  /** Registers the tools of the toolsets not yet on; the SDK then sends notifications/tools/list_changed. Returns their names. */
  enable(names: readonly Toolset[]): Promise<string[]>;
}

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
  /** Every configured XNAT server by name (`client` is the default one's). */
  servers: ServerDirectory;
  signal: AbortSignal;
  log: Logger;
  /** Sends notifications/progress when the caller passed a progressToken; otherwise a no-op. Never throws. */
  progress: SendProgress;
  safety: Safety;
  /** Absent on servers that cannot change their tools. */
  toolsets?: ToolsetControl;
  /**
   * Adds an image to the result's content, after the text (images never go in structuredContent); its
   * pixels count against the result's token budget.
   */
  attachImage(image: { data: Buffer; mimeType: string; width: number; height: number }): void;
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
  /** The MCP App (`ui://` resource) that hosts supporting the Apps extension show with the result. */
  ui?: { resourceUri: string };
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
  /** The named servers (XNAT_MCP_SERVERS); default: `client` alone, as `default`. */
  servers?: ServerDirectory | undefined;
  log: Logger;
  safety?: SafetyOptions;
  /** Where running calls are counted, so that a shutdown can wait for their cleanup. */
  calls?: RunningCalls | undefined;
  toolsets?: ToolsetControl;
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
  // zod's `.int()` bounds every integer to the safe range: true of any JSON number a model writes.
  if (key === 'maximum' && value === Number.MAX_SAFE_INTEGER) return true;
  if (key === 'minimum' && value === Number.MIN_SAFE_INTEGER) return true;
  return output && key === 'additionalProperties' && value === false;
}

/**
 * `anyOf` of plain typed schemas whose keywords do not overlap (an ID as text or a whole number)
 * says the same as one schema with a list of types, in a third of the bytes: each keyword applies
 * only to values of its own type.
 */
function mergeTypeUnion(schema: JsonSchema): JsonSchema {
  const { anyOf, ...rest } = schema;
  if (!Array.isArray(anyOf) || !anyOf.every((s) => isJsonObject(s) && typeof s.type === 'string')) {
    return schema;
  }
  const merged: JsonSchema = { ...rest, type: anyOf.map((s: JsonSchema) => s.type) };
  for (const member of anyOf as JsonSchema[]) {
    for (const [key, value] of Object.entries(member)) {
      if (key === 'type') continue;
      if (key in merged) return schema;
      merged[key] = value;
    }
  }
  return merged;
}

function compactSchema(schema: unknown, output: boolean): unknown {
  if (Array.isArray(schema)) return schema.map((s) => compactSchema(s, output));
  if (!isJsonObject(schema)) return schema;
  schema = mergeTypeUnion(schema);
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
    ...(tool.ui ? { _meta: appToolMeta(tool.ui) } : {}),
  };
}

/**
 * The MCP Apps link of a tool: `_meta.ui.resourceUri` (the spec's), plus the older flat key
 * `ui/resourceUri` that hosts written before it still read, as ext-apps' registerAppTool writes
 * both. Spelled out here rather than imported: ext-apps' server module carries its whole App
 * protocol (~100 ms at every start, before tools/list); test/ui checks the names against it.
 */
export const APP_RESOURCE_URI_KEY = 'ui/resourceUri';

function appToolMeta(ui: { resourceUri: string }): Record<string, unknown> {
  return { ui, [APP_RESOURCE_URI_KEY]: ui.resourceUri };
}

/**
 * With several XNAT servers configured (XNAT_MCP_SERVERS) every tool takes an optional `server`
 * naming the one it talks to; with one server nothing is added, so the usual listing keeps its size.
 * Tools that already choose servers themselves (getServerInfo, copyData) are left as they are.
 */
function choosesServer(tool: AnyToolDefinition, deps: ToolDeps): boolean {
  return (deps.servers?.list().length ?? 1) > 1 && !('server' in tool.inputSchema);
}

/** `chooses`: the tool's schema has gained `server` (see choosesServer), taken off its arguments here. */
function registerTool(server: McpServer, tool: AnyToolDefinition, deps: ToolDeps, chooses: boolean): void {
  const config = {
    title: tool.title,
    description: tool.description,
    inputSchema: tool.inputSchema,
    outputSchema: tool.outputSchema,
    annotations: tool.annotations,
  };
  const callback: ToolCallback<z.ZodRawShape> = (input, extra): Promise<CallToolResult> => {
    const { server: serverName, ...own } = input as { server?: string };
    const args = chooses ? own : input;
    let client = deps.client;
    const call = (async (): Promise<CallToolResult> => {
      try {
        if (chooses) client = deps.servers!.client(serverName);
        // Writes are audited with the XNAT login (one cached lookup), never the configured credential.
        const user = tool.writes ? await client.currentUser({ signal: extra.signal }) : 'unknown';
        const safety = createSafety({
          options: deps.safety ?? {},
          server: server.server,
          sessionId: extra.sessionId,
          request: { id: extra.requestId, signal: extra.signal },
          log: deps.log,
          user: () => user,
        });
        const progress = progressSender(extra._meta?.progressToken, extra.sendNotification);
        const images: ImageContent[] = [];
        let imageChars = 0;
        const output = await tool.handler(args, {
          client,
          servers: deps.servers ?? singleServer(deps.client),
          signal: extra.signal,
          log: deps.log,
          progress,
          safety,
          toolsets: deps.toolsets,
          attachImage: ({ data, mimeType, width, height }) => {
            imageChars += imageTokens(width, height) * 4;
            images.push({ type: 'image', data: data.toString('base64'), mimeType });
          },
        });
        // The one place every result is bounded: strings first, then the whole against the budget.
        const { value, shortened } = boundStrings(output);
        const fitted = fitBudget(
          value,
          (o) => tool.render(o) + (shortened > 0 ? `\n${shortenedNote(shortened)}` : ''),
          (o) => tool.links?.(o) ?? [],
          imageChars,
        );
        return {
          structuredContent: fitted.output,
          content: [{ type: 'text', text: fitted.text }, ...images, ...(fitted.links as ResourceLink[])],
        };
      } catch (err) {
        const text = describeToolError(err, {
          operation: tool.name,
          url: client.url,
          target: tool.target?.(args),
          log: deps.log,
        });
        // Also on the MCP log, for hosts that show server logs; a closed connection is not an error here.
        server
          .sendLoggingMessage({ level: 'warning', logger: tool.name, data: text }, extra.sessionId)
          .catch(() => undefined);
        return { isError: true, content: [{ type: 'text', text }] };
      }
    })();
    return deps.calls?.track(call) ?? call;
  };
  server.registerTool(tool.name, tool.ui ? { ...config, _meta: appToolMeta(tool.ui) } : config, callback);
}

export interface ToolRegistration {
  /** Registers more tools on the running server (after connect the SDK announces the change). */
  add(tools: readonly AnyToolDefinition[]): void;
}

/**
 * tools/list entries by tool definition, with and without `server`: converting a tool's schemas
 * (~1 ms each) happens at the first tools/list that shows it, once per process rather than once
 * per server (every HTTP session has its own).
 */
const LISTINGS = {
  own: new WeakMap<AnyToolDefinition, Tool>(),
  choosing: new WeakMap<AnyToolDefinition, Tool>(),
};

/** Where `npm run build` writes every tool's entry (scripts/build-listing.mjs); absent when run from source. */
export const PREBUILT_LISTING_FILE = fileURLToPath(new URL('../tools/listing.json', import.meta.url));

interface PrebuiltListing {
  tools: Map<string, Tool>;
  /** Entries served before they were checked, and the servers that listed them. */
  unchecked: Map<AnyToolDefinition, Tool>;
  servers: Set<McpServer>;
  checking: boolean;
}

function prebuiltFrom(tools: Record<string, Tool>): PrebuiltListing {
  return { tools: new Map(Object.entries(tools)), unchecked: new Map(), servers: new Set(), checking: false };
}

/** Loaded at the first tools/list; undefined when absent, unreadable or made with another zod. */
let prebuilt: PrebuiltListing | undefined | null;

function prebuiltListing(): PrebuiltListing | undefined {
  if (prebuilt === undefined) {
    prebuilt = null;
    try {
      const data = JSON.parse(readFileSync(PREBUILT_LISTING_FILE, 'utf8')) as {
        zod: { major: number; minor: number; patch: number };
        tools: Record<string, Tool>;
      };
      const { major, minor, patch } = z.core.version;
      if (data.zod.major === major && data.zod.minor === minor && data.zod.patch === patch) {
        prebuilt = prebuiltFrom(data.tools);
      }
    } catch {
      // No prebuilt listing (run from source) or an unreadable one: schemas are converted.
    }
  }
  return prebuilt ?? undefined;
}

/** For tests: serve these entries as if `npm run build` had written them (undefined: none). */
export function usePrebuiltListing(tools: Record<string, Tool> | undefined): void {
  prebuilt = tools === undefined ? null : prebuiltFrom(tools);
}

/**
 * Once the server is idle after a tools/list served prebuilt entries, each is checked against the
 * tool's own conversion. A stale one (dist rebuilt in part, e.g. by `tsc --watch`) is replaced, the
 * prebuilt listing is dropped, and the servers that showed it say tools/list_changed.
 */
function checkPrebuiltSoon(listing: PrebuiltListing, log: Logger): void {
  if (listing.checking) return;
  listing.checking = true;
  setTimeout(() => {
    let stale = 0;
    for (const [tool, served] of listing.unchecked) {
      const own = listedTool(tool);
      if (JSON.stringify(own) !== JSON.stringify(served)) stale++;
      LISTINGS.own.set(tool, own);
    }
    listing.unchecked.clear();
    listing.checking = false;
    if (stale === 0) return;
    log.warning(
      `The prebuilt tool listing was stale for ${stale} tool(s) (run npm run build); tools/list is corrected`,
    );
    prebuilt = null;
    for (const server of listing.servers) server.sendToolListChanged();
  }, PREBUILT_CHECK_DELAY_MS).unref();
}

/** How long after a tools/list the prebuilt entries it served are checked (off the first answer's path). */
const PREBUILT_CHECK_DELAY_MS = 500;

function listing(
  tool: AnyToolDefinition,
  served: AnyToolDefinition,
  chooses: boolean,
  context: { server: McpServer; log: Logger },
): Tool {
  const cache = chooses ? LISTINGS.choosing : LISTINGS.own;
  let listed = cache.get(tool);
  if (listed === undefined) {
    const entry = chooses ? undefined : prebuiltListing()?.tools.get(tool.name);
    if (entry !== undefined && entry.title === tool.title && entry.description === tool.description) {
      const listing = prebuilt!;
      listing.unchecked.set(tool, entry);
      listing.servers.add(context.server);
      checkPrebuiltSoon(listing, context.log);
      return entry;
    }
    listed = listedTool(served);
    cache.set(tool, listed);
  }
  return listed;
}

export function registerTools(
  server: McpServer,
  tools: readonly AnyToolDefinition[],
  deps: ToolDeps,
): ToolRegistration {
  const listed: Array<() => Tool> = [];
  const add = (more: readonly AnyToolDefinition[]): void => {
    // Without tools the SDK declares no tools capability, and tools/list must not be answered.
    if (more.length === 0) return;
    for (const tool of more) {
      const chooses = choosesServer(tool, deps);
      const served = chooses ? { ...tool, inputSchema: { ...tool.inputSchema, server: serverParam } } : tool;
      registerTool(server, served, deps, chooses);
      listed.push(() => listing(tool, served, chooses, { server, log: deps.log }));
    }
    // Replaces the SDK's tools/list handler (set by the first registration) with the compact one.
    server.server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: listed.map((entry) => entry()),
    }));
  };
  add(tools);
  return { add };
}
