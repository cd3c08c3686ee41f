/**
 * The one MCP server factory. Every transport (stdio, each Streamable HTTP session, in-memory tests)
 * calls it with the same shared XnatClient; nothing here or in the tools keeps per-session state.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import type { XnatClient } from './client/client.js';
import { XnatConfigError } from './client/errors.js';
import { registerPrompts, registerResources } from './resources/index.js';
import { DEFAULT_TOOLSETS, TOOLSETS, isToolset, selectTools, type Toolset } from './tools/index.js';
import type { RunningCalls } from './mcp/calls.js';
import { registerTools, type ToolRegistration, type ToolsetControl } from './mcp/define.js';
import { MAX_STRING, RESULT_TOKEN_BUDGET } from './mcp/format.js';
import { silentLogger, type Logger } from './mcp/logger.js';
import type { ServerDirectory } from './mcp/servers.js';
import { SERVER_NAME, VERSION } from './version.js';

export interface ServerOptions {
  /** Toolset names (see TOOLSETS); default DEFAULT_TOOLSETS. Unknown names are rejected. */
  toolsets?: string[];
  /** Remove every tool that changes XNAT, whatever the toolsets say. */
  readOnly?: boolean;
  /** Project allow-list for every tool that changes XNAT (XNAT_MCP_PROJECTS); default all. */
  projects?: string[];
  /** Local directories transfers may read and write (--root / XNAT_MCP_ROOTS); default the working directory. Client roots, when the client lists some, take precedence. */
  roots?: string[];
}

export interface ServerDeps {
  client: XnatClient;
  /** Every configured XNAT server by name, `client` being the default's (default: `client` alone). */
  servers?: ServerDirectory | undefined;
  log?: Logger;
  /** Counts running tool calls (the CLI waits for them to clean up when it stops). */
  calls?: RunningCalls;
}

/** `10000` → `10,000`, without toLocaleString: its first call loads ICU data (~10 ms at every start). */
function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
}

export const INSTRUCTIONS = [
  'Access to an XNAT imaging archive: projects contain subjects, subjects have experiments (imaging sessions), experiments have scans, resources and files.',
  'IDs: every subject and experiment has a site-wide accession ID (e.g. XNAT_S00001, XNAT_E00001) and a label that is unique only within a project. Tools take either the ID, or the label together with `project`. A subject or experiment shared into another project may have a different label there.',
  'Lists return {items, total, nextCursor}: pass nextCursor back as `cursor` with the same filters to get the next page; keep limits small.',
  `Every result stays under ${thousands(RESULT_TOKEN_BUDGET)} tokens: pages are cut short (truncated, use the cursor) and values over ${MAX_STRING} characters are shortened in the middle, marked "…[n characters cut]…".`,
  'Start with listProjects, then searchSubjects / searchExperiments, then getSubject / getExperiment / listFiles.',
].join('\n');

/** Added when enableToolsets is exposed. */
export const TOOLSET_INSTRUCTIONS =
  'Some toolsets are off by default (e.g. prearchive): enableToolsets lists them and switches them on.';

/** Added when writing tools are exposed (not in read-only mode). */
export const WRITE_INSTRUCTIONS = [
  'Writing tools change the archive for everyone. Creating never overwrites: an existing label is a conflict unless ifExists is "return".',
  "Destructive tools (deleteObject, setQuarantine, overwriting uploads, prearchive deletes) need the user's agreement: the server asks the user when the client supports it; otherwise the call fails and names a `confirm` value. Ask the user, and only after they agree repeat the call with that value. Use dryRun: true to preview.",
].join('\n');

/**
 * The SDK checks elicitation answers against their schema with Ajv, and builds an Ajv instance for
 * every server it makes (~5 ms at each start and each HTTP session): built on the first elicitation.
 */
function lazyValidator(): jsonSchemaValidator {
  let ajv: AjvJsonSchemaValidator | undefined;
  return { getValidator: (schema) => (ajv ??= new AjvJsonSchemaValidator()).getValidator(schema) };
}

/** Validates toolset names (from a flag or env) and returns them typed; throws a one-line config error. */
export function parseToolsets(names: readonly string[]): Toolset[] {
  if (names.length === 0) {
    throw new XnatConfigError(
      `No toolset selected; choose from: ${TOOLSETS.join(', ')} (--toolsets or XNAT_MCP_TOOLSETS)`,
    );
  }
  const unknown = names.filter((n) => !isToolset(n));
  if (unknown.length > 0) {
    throw new XnatConfigError(
      `Unknown toolset${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')}; valid toolsets are: ${TOOLSETS.join(', ')} (set with --toolsets or XNAT_MCP_TOOLSETS)`,
    );
  }
  return names.filter(isToolset);
}

/** Async because only the chosen toolsets' tool modules are loaded (see tools/index.ts). */
export async function createServer(deps: ServerDeps, options: ServerOptions = {}): Promise<McpServer> {
  const toolsets = options.toolsets === undefined ? undefined : parseToolsets(options.toolsets);
  const log = deps.log ?? silentLogger;
  const tools = await selectTools({ toolsets, readOnly: options.readOnly });
  const instructions = [
    INSTRUCTIONS,
    ...(tools.some((t) => t.name === 'enableToolsets') ? [TOOLSET_INSTRUCTIONS] : []),
    ...(tools.some((t) => t.writes) ? [WRITE_INSTRUCTIONS] : []),
  ].join('\n');
  const server = new McpServer(
    { name: SERVER_NAME, title: 'XNAT', version: VERSION },
    {
      capabilities: { logging: {} },
      instructions,
      jsonSchemaValidator: lazyValidator(),
      // Enabling a toolset registers several tools at once: one list_changed says so.
      debouncedNotificationMethods: ['notifications/tools/list_changed'],
    },
  );
  const enabled = new Set(toolsets ?? DEFAULT_TOOLSETS);
  const toolsetControl: ToolsetControl = {
    list: () =>
      Promise.all(
        TOOLSETS.map(async (name) => ({
          name,
          enabled: enabled.has(name),
          tools: (await selectTools({ toolsets: [name], readOnly: options.readOnly })).map((t) => t.name),
        })),
      ),
    async enable(names) {
      // Marked on before the modules load, so that a concurrent call cannot register them twice.
      const fresh = names.filter((n) => !enabled.has(n));
      for (const name of fresh) enabled.add(name);
      if (fresh.length === 0) return [];
      const more = await selectTools({ toolsets: fresh, readOnly: options.readOnly });
      registration.add(more);
      return more.map((t) => t.name);
    },
  };
  const registration: ToolRegistration = registerTools(server, tools, {
    client: deps.client,
    servers: deps.servers,
    log,
    safety: { projects: options.projects, roots: options.roots },
    calls: deps.calls,
    toolsets: toolsetControl,
  });
  registerResources(server, { client: deps.client, log });
  registerPrompts(server, { client: deps.client, log });
  return server;
}
