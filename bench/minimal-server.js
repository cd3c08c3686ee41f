// The cold-start baseline of `npm run bench`: a minimal MCP server over stdio with one tool, built
// on the same SDK the real server uses (bench/cold-start.js times both to their first tools/list).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import * as z from 'zod';

const server = new McpServer({ name: 'minimal', version: '0.0.0' });
server.registerTool(
  'echo',
  { description: 'Echoes its text', inputSchema: { text: z.string() } },
  async ({ text }) => ({ content: [{ type: 'text', text }] }),
);
await server.connect(new StdioServerTransport());
