#!/usr/bin/env node
// Part of `npm run build`, after tsc: writes dist/tools/listing.json, every tool's tools/list entry
// as the server would convert it (src/mcp/define.ts, listedTool), so that a starting server answers
// its first tools/list without converting 19 tools' schemas (~20 ms). The server checks each entry
// against its own conversion once it is idle and corrects a stale one (define.ts, prebuilt listing).
import { writeFileSync } from 'node:fs';
import * as z from 'zod';
import { PREBUILT_LISTING_FILE, listedTool } from '../dist/mcp/define.js';
import { loadTools } from '../dist/tools/index.js';

const tools = await loadTools();
const listing = {
  zod: z.core.version,
  tools: Object.fromEntries(tools.map((tool) => [tool.name, listedTool(tool)])),
};
writeFileSync(PREBUILT_LISTING_FILE, `${JSON.stringify(listing)}\n`);
