/**
 * The walls checker (scripts/check-walls.mjs, run by `npm run lint`) on small trees made here: a tree
 * that keeps every rule passes, and each deliberately wrong import, unplaced file and cycle is reported
 * with its reason, nothing else.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const CHECKER = fileURLToPath(new URL('../../scripts/check-walls.mjs', import.meta.url));

/** A tree in which every layer imports what it may, in each way the checker parses. */
const GOOD: Record<string, string> = {
  'cli.ts': [
    "import { createServer } from './server.js';",
    "import { startSandbox } from './sandbox/index.js';",
    "import { serveStdio } from './transports/stdio.js';",
    "import { ALL_TOOLS } from './tools/index.js';",
    "import { shape } from './mcp/format.js';",
    'export const all = [createServer, startSandbox, serveStdio, ALL_TOOLS, shape];',
  ].join('\n'),
  'index.ts': "export * from './client/index.js';",
  'version.ts': [
    "import { readFileSync } from 'node:fs';",
    "import type { XnatClient } from './client/index.js';",
    'export const VERSION = String(readFileSync);',
    'export type C = XnatClient;',
  ].join('\n'),
  'server.ts': [
    "import { ALL_TOOLS } from './tools/index.js';",
    "import { registerResources } from './resources/index.js';",
    "import { registerTools } from './mcp/define.js';",
    "import type { XnatClient } from './client/index.js';",
    "import { VERSION } from './version.js';",
    'export function createServer(c: XnatClient) { return [ALL_TOOLS, registerResources, registerTools, c, VERSION]; }',
  ].join('\n'),
  'client/index.ts': "export { XnatClient } from './client.js';",
  'client/client.ts': [
    "import { request } from 'undici';",
    "import * as z from 'zod';",
    "import { get } from './http.js';",
    '// import { shape } from "../mcp/format.js"; a comment is not an import',
    'const text = "import \'../mcp/format.js\'";',
    'export class XnatClient { r = [request, z, get, text]; }',
  ].join('\n'),
  'client/http.ts': "import { Agent } from 'node:http';\nexport const get = Agent;",
  'sandbox/index.ts': "export { startSandbox } from './server.js';",
  'sandbox/server.ts': "export async function startSandbox() { return (await import('./seed.js')).seed; }",
  'sandbox/seed.ts': 'export const seed = 1;',
  'mcp/define.ts': [
    "import type { XnatClient } from '../client/index.js';",
    "import { shape } from './format.js';",
    'export function registerTools(c: XnatClient) { return shape(c); }',
  ].join('\n'),
  'mcp/format.ts': 'export function shape(x: unknown) { return x; }',
  'tools/index.ts': [
    "import { listProjects } from './browse.js';",
    "import { deleteObject } from './curate/index.js';",
    "import type { registerTools } from '../mcp/define.js';",
    'export const ALL_TOOLS = [listProjects, deleteObject];',
    'export type R = typeof registerTools;',
  ].join('\n'),
  'tools/browse.ts': [
    "import { shape } from '../mcp/format.js';",
    "import type { XnatClient } from '../client/index.js';",
    'export const listProjects = (c: XnatClient) => shape(c);',
  ].join('\n'),
  // A tool split into a folder is one module: its files import each other.
  'tools/curate/index.ts': "import { plan } from './plan.js';\nexport const deleteObject = plan;",
  'tools/curate/plan.ts': "import { shape } from '../../mcp/format.js';\nexport const plan = shape;",
  'resources/index.ts': [
    "import { projectUri } from './uris.js';",
    "import { shape } from '../mcp/format.js';",
    "import type { XnatClient } from '../client/index.js';",
    'export const registerResources = (c: XnatClient) => shape([c, projectUri]);',
  ].join('\n'),
  'resources/uris.ts': "export const projectUri = 'xnat://projects/';",
  'transports/stdio.ts': [
    "import { createServer } from '../server.js';",
    "import { shape } from '../mcp/format.js';",
    "import { XnatClient } from '../client/index.js';",
    "import { VERSION } from '../version.js';",
    "import { listen } from './http.js';",
    'export const serveStdio = [createServer, shape, XnatClient, VERSION, listen];',
  ].join('\n'),
  'transports/http.ts': 'export const listen = 1;',
};

/** One deliberately wrong import per rule (each way of importing), an unplaced file and three cycles. */
const BAD: Record<string, string> = {
  ...GOOD,
  'client/bad.ts': "import { shape } from '../mcp/format.js';\nexport const b = shape;",
  'client/lazy.ts': "export const sandbox = () => import('../sandbox/index.js');",
  'sandbox/bad.ts': "export { XnatClient } from '../client/index.js';",
  'mcp/bad.ts':
    "import type { listProjects } from '../tools/browse.js';\nexport type L = typeof listProjects;",
  'tools/search.ts': "import { listProjects } from './browse.js';\nexport const s = listProjects;",
  'tools/curate/share.ts': "import { listProjects } from '../browse.js';\nexport const s = listProjects;",
  'tools/transfer.ts': "import { serveStdio } from '../transports/stdio.js';\nexport const t = serveStdio;",
  'tools/links.ts': "import { projectUri } from '../resources/uris.js';\nexport const l = projectUri;",
  'resources/bad.ts': "import { listProjects } from '../tools/browse.js';\nexport const r = listProjects;",
  'transports/bad.ts': "import { ALL_TOOLS } from '../tools/index.js';\nexport const t = ALL_TOOLS;",
  'server.ts': `${GOOD['server.ts']}\nimport { listProjects } from './tools/browse.js';\nexport const l = listProjects;`,
  'index.ts': `${GOOD['index.ts']}\nexport { createServer } from './server.js';`,
  'version.ts': `${GOOD['version.ts']}\nimport { shape } from './mcp/format.js';\nexport const v = shape;`,
  'util.ts': 'export const util = 1;',
  'mcp/a.ts': "import { b } from './b.js';\nexport const a = () => b;",
  'mcp/b.ts': "import { a } from './a.js';\nexport const b = () => a;",
  'client/rows.ts': "import type { Result } from './search.js';\nexport const row = (r: Result) => r;",
  'client/search.ts': "import { row } from './rows.js';\nexport type Result = string;\nexport const s = row;",
  'sandbox/x.ts': "import { y } from './y.js';\nexport const x = () => y;",
  'sandbox/y.ts': "import { z } from './z.js';\nexport const y = () => z;",
  'sandbox/z.ts': "import { x } from './x.js';\nexport const z = () => x;",
};

const EXPECTED_BAD = [
  'src/client/bad.ts imports src/mcp/format.ts: the client core imports nothing of ours outside src/client (it knows nothing of MCP)',
  'src/client/lazy.ts imports src/sandbox/index.ts: the client core imports nothing of ours outside src/client (it knows nothing of MCP)',
  'src/sandbox/bad.ts imports src/client/index.ts: the sandbox imports nothing of ours outside src/sandbox (the fake XNAT never shares code with the client it checks)',
  'src/mcp/bad.ts imports src/tools/browse.ts: src/mcp imports only src/mcp and src/client',
  'src/tools/search.ts imports src/tools/browse.ts: tools never import each other; move the shared part to src/mcp',
  'src/tools/curate/share.ts imports src/tools/browse.ts: tools never import each other; move the shared part to src/mcp',
  'src/tools/transfer.ts imports src/transports/stdio.ts: tools import only src/mcp and src/client',
  'src/tools/links.ts imports src/resources/uris.ts: tools and resources never import each other; move the shared part to src/mcp',
  'src/resources/bad.ts imports src/tools/browse.ts: resources and tools never import each other; move the shared part to src/mcp',
  'src/transports/bad.ts imports src/tools/index.ts: transports import only src/server.ts, src/mcp, src/client and src/version.ts',
  'src/server.ts imports src/tools/browse.ts: src/server.ts imports only src/tools/index.ts (never a tool module), src/resources, src/mcp, src/client and src/version.ts',
  'src/index.ts imports src/server.ts: the library entry src/index.ts exports the client core only (no MCP)',
  'src/version.ts imports src/mcp/format.ts: src/version.ts imports nothing of ours but src/client',
  'src/util.ts belongs to no layer: put it in src/client, src/mcp, src/tools, src/resources, src/transports or src/sandbox (or give it a rule in scripts/check-walls.mjs)',
  'import cycle: src/client/rows.ts -(type)-> src/client/search.ts -> src/client/rows.ts; break it by moving the shared part down a layer',
  'import cycle: src/mcp/a.ts -> src/mcp/b.ts -> src/mcp/a.ts; break it by moving the shared part down a layer',
  'import cycle: src/sandbox/x.ts -> src/sandbox/y.ts -> src/sandbox/z.ts -> src/sandbox/x.ts; break it by moving the shared part down a layer',
];

const made: string[] = [];

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'walls-'));
  made.push(root);
  for (const [path, text] of Object.entries(files)) {
    const file = join(root, 'src', path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${text}\n`);
  }
  return root;
}

interface Run {
  code: number;
  stdout: string;
  /** stderr lines, sorted (the checker's order is not part of its contract). */
  lines: string[];
}

function check(cwd: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CHECKER, ...args], { cwd }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, lines: stderr.split('\n').filter(Boolean).sort() });
    });
  });
}

afterAll(async () => {
  await Promise.all(made.map((root) => rm(root, { recursive: true, force: true })));
});

describe('walls checker', () => {
  it('passes a tree in which every layer imports only what it may', async () => {
    const root = await tree(GOOD);
    const run = await check(root, 'src');
    expect(run.lines).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('walls: src keeps to its layers, no import cycles');
  });

  it('reports each wrong import, the unplaced file and every cycle with its reason, and nothing else', async () => {
    const root = await tree(BAD);
    const run = await check(root, 'src');
    expect(run.code).toBe(1);
    const summary = `walls: ${EXPECTED_BAD.length} violations (rules: docs/CONTRIBUTING.md#walls)`;
    expect(run.lines).toEqual([...EXPECTED_BAD, summary].sort());
  });
});
