/**
 * The prebuilt tool listing (`npm run build` writes dist/tools/listing.json): a starting server
 * answers its first tools/list from it, and checks it against its own conversion once idle, so a
 * stale entry (dist rebuilt in part) is corrected with tools/list_changed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ToolListChangedNotificationSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listedTool, usePrebuiltListing } from '../../src/mcp/define.js';
import { loadTools } from '../../src/tools/index.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { ALICE, connectInMemory } from './helpers.js';

let sandbox: RunningSandbox;

beforeAll(async () => {
  sandbox = await startSandbox();
});

afterAll(async () => {
  usePrebuiltListing(undefined);
  await sandbox?.close();
});

describe('the prebuilt tool listing', () => {
  it('holds, for every tool of every toolset, what the server converts itself (npm test builds it)', async () => {
    const built = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'dist', 'tools', 'listing.json'), 'utf8'),
    ) as { tools: Record<string, Tool> };
    const tools = await loadTools();
    expect(Object.keys(built.tools).sort()).toEqual(tools.map((t) => t.name).sort());
    for (const tool of tools) expect(built.tools[tool.name], tool.name).toEqual(listedTool(tool));
  });

  it('a stale entry is served first, then corrected with tools/list_changed once the server is idle', async () => {
    const tools = await loadTools();
    const getProject = tools.find((t) => t.name === 'getProject')!;
    const right = listedTool(getProject);
    const stale: Tool = {
      ...right,
      inputSchema: { type: 'object', properties: { old: { type: 'string' } } },
    };
    usePrebuiltListing({ getProject: stale });
    const connected = await connectInMemory(sandbox.url, ALICE);
    try {
      const changed = new Promise<void>((resolve) =>
        connected.mcp.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()),
      );
      const first = (await connected.mcp.listTools()).tools.find((t) => t.name === 'getProject');
      expect(first?.inputSchema).toEqual(stale.inputSchema);
      await changed;
      const after = (await connected.mcp.listTools()).tools.find((t) => t.name === 'getProject');
      expect(after?.inputSchema).toEqual(right.inputSchema);
    } finally {
      await connected.close();
    }
  });
});
