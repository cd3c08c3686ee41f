import * as z from 'zod';
import { READ_ONLY, TOOLSETS, TOOLSET_SUMMARIES, defineTool } from '../mcp/define.js';
import { ToolInputError } from '../mcp/errors.js';
import { serverParam } from '../mcp/params.js';
import { ServerInfoOutput, renderServerInfo, shapeServerInfo } from '../mcp/format-access.js';

export const getServerInfo = defineTool({
  name: 'getServerInfo',
  title: 'XNAT server info',
  description:
    'The XNAT URL, version, build, uptime, plugins, the logged-in user (whose permissions apply), site-admin status, session expiry and the configured servers. Use it to check the connection and explain what XNAT allows.',
  toolset: 'core',
  inputSchema: { server: serverParam },
  outputSchema: ServerInfoOutput,
  annotations: READ_ONLY,
  writes: false,
  async handler({ server }, { servers, signal }) {
    const info = await servers.client(server).serverInfo({ signal });
    const all = servers.list();
    return { ...shapeServerInfo(info), ...(all.length > 1 ? { servers: all } : {}) };
  },
  render: renderServerInfo,
});

const ToolsetsOutput = {
  added: z.array(z.string()).describe('Tools this call switched on (now in tools/list)'),
  toolsets: z.array(
    z.object({
      name: z.string(),
      enabled: z.boolean(),
      about: z.string(),
      tools: z.array(z.string()),
    }),
  ),
};

export const enableToolsets = defineTool({
  name: 'enableToolsets',
  title: 'Switch toolsets on',
  description:
    'Switches more toolsets on for this session: their tools join tools/list. Call with no toolsets to see which exist, what each is for and which are on.',
  toolset: 'core',
  inputSchema: {
    toolsets: z
      .array(z.enum(TOOLSETS))
      .max(TOOLSETS.length)
      .optional()
      .describe('Toolsets to switch on; omit to only list them'),
  },
  outputSchema: ToolsetsOutput,
  // Changes only this session's tool list, never XNAT.
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  writes: false,
  async handler(args, { toolsets }) {
    if (!toolsets) throw new ToolInputError('This server cannot change its toolsets at run time');
    const added = await toolsets.enable(args.toolsets ?? []);
    const listed = (await toolsets.list()).map((t) => ({ ...t, about: TOOLSET_SUMMARIES[t.name] }));
    return { added, toolsets: listed };
  },
  render: (out) =>
    [
      out.added.length > 0 ? `Switched on: ${out.added.join(', ')}` : 'No tools added.',
      ...out.toolsets.map(
        (t) =>
          `${t.name} (${t.enabled ? 'on' : 'off'}): ${t.about}; ${t.tools.length > 0 ? t.tools.join(', ') : 'no tools in this mode'}`,
      ),
    ].join('\n'),
});
