/**
 * Toolsnaps: every tool as an MCP client sees it in tools/list (all toolsets on, writes included),
 * one `<name>.snap.json` per tool beside this file, keys sorted. Any change to a tool's name, title,
 * description, schemas or annotations fails here until the snaps are regenerated and reviewed:
 *
 *   UPDATE_TOOLSNAPS=1 npx vitest run test/toolsnaps
 *
 * The tools are read only through the SDK client, never by importing tool modules.
 */
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { format, resolveConfig } from 'prettier';
import { afterAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/index.js';
import { createServer } from '../../src/server.js';
import { TOOLSETS } from '../../src/mcp/define.js';

const DIR = fileURLToPath(new URL('.', import.meta.url));
const SUFFIX = '.snap.json';
const UPDATE = process.env.UPDATE_TOOLSNAPS === '1';
const HOW =
  'If the change is intended, run `UPDATE_TOOLSNAPS=1 npx vitest run test/toolsnaps` and commit the snaps.';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys(value[key] as Json)]),
  );
}

/** Every path where the two differ, as `path: snap <a>, now <b>` lines a person can act on. */
function differences(snap: Json | undefined, now: Json | undefined, path = ''): string[] {
  const show = (v: Json | undefined) => (v === undefined ? '(absent)' : JSON.stringify(v));
  const bothObjects = typeof snap === 'object' && snap !== null && typeof now === 'object' && now !== null;
  if (bothObjects && Array.isArray(snap) === Array.isArray(now)) {
    if (Array.isArray(snap) && Array.isArray(now)) {
      const length = Math.max(snap.length, now.length);
      return Array.from({ length }, (_, i) => differences(snap[i], now[i], `${path}[${i}]`)).flat();
    }
    const a = snap as { [key: string]: Json };
    const b = now as { [key: string]: Json };
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((key) => differences(a[key], b[key], path === '' ? key : `${path}.${key}`));
  }
  return JSON.stringify(snap) === JSON.stringify(now)
    ? []
    : [`${path || '(root)'}: snap ${show(snap)}, now ${show(now)}`];
}

async function listedTools(): Promise<Tool[]> {
  // tools/list never reaches XNAT: nothing listens at this address, and nothing is asked of it.
  const xnat = new XnatClient({ url: 'http://127.0.0.1:9', user: 'toolsnaps', password: 'unused' });
  const server = await createServer({ client: xnat }, { toolsets: [...TOOLSETS] });
  const mcp = new Client({ name: 'toolsnaps', version: '0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), mcp.connect(clientSide)]);
  try {
    return (await mcp.listTools()).tools;
  } finally {
    await mcp.close();
    await server.close();
    await xnat.close();
  }
}

async function snapText(tool: Tool): Promise<string> {
  const path = `${DIR}${tool.name}${SUFFIX}`;
  const options = (await resolveConfig(path)) ?? {};
  return format(JSON.stringify(sortKeys(tool as Json), null, 2), { ...options, filepath: path });
}

async function readSnap(name: string): Promise<Json | undefined> {
  try {
    return JSON.parse(await readFile(`${DIR}${name}${SUFFIX}`, 'utf8')) as Json;
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return undefined;
    throw err;
  }
}

const tools = await listedTools();

async function snapNames(): Promise<string[]> {
  return (await readdir(DIR)).filter((f) => f.endsWith(SUFFIX)).map((f) => f.slice(0, -SUFFIX.length));
}

afterAll(() => {
  if (UPDATE) console.log(`toolsnaps: wrote ${tools.length} snaps to ${DIR}`);
});

describe('toolsnaps', () => {
  it('lists tools, each with a distinct name', () => {
    const names = tools.map((t) => t.name);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(tools.map((t) => [t.name, t] as const))('%s matches its snap', async (name, tool) => {
    if (UPDATE) await writeFile(`${DIR}${name}${SUFFIX}`, await snapText(tool));
    const snap = await readSnap(name);
    expect(snap, `${name} has no toolsnap test/toolsnaps/${name}${SUFFIX}. ${HOW}`).toBeDefined();
    expect(
      differences(snap, sortKeys(tool as Json)),
      `${name} in tools/list differs from test/toolsnaps/${name}${SUFFIX} at the paths below. ${HOW}`,
    ).toEqual([]);
  });

  it('has no snap of a tool that tools/list does not show', async () => {
    const listed = new Set(tools.map((t) => t.name));
    const orphans = (names: string[]) => names.filter((name) => !listed.has(name));
    if (UPDATE) await Promise.all(orphans(await snapNames()).map((name) => rm(`${DIR}${name}${SUFFIX}`)));
    expect(
      orphans(await snapNames()).map((name) => `test/toolsnaps/${name}${SUFFIX}`),
      `snaps of tools that tools/list does not show. ${HOW}`,
    ).toEqual([]);
  });
});
