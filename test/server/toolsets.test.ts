/**
 * The default tool budget and run-time toolsets: what a client sees without options, and
 * enableToolsets switching the rest on (notifications/tools/list_changed, then the new tools work).
 */
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { DEFAULT_TOOLSETS, TOOLSETS } from '../../src/mcp/define.js';
import { loadTools } from '../../src/tools/index.js';
import { ALICE, call, callOk, connectInMemory, textOf, type Connected, type ListOut } from './helpers.js';

let sandbox: RunningSandbox;
const open: Connected[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ archive: createDemoArchive() });
});

afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await sandbox?.close();
});

async function connect(options: Parameters<typeof connectInMemory>[2] = {}): Promise<Connected> {
  const connected = await connectInMemory(sandbox.url, ALICE, options);
  open.push(connected);
  return connected;
}

/** Counts list_changed notifications as the client receives them. */
function listChanges(connected: Connected): { count: number } {
  const seen = { count: 0 };
  connected.mcp.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    seen.count += 1;
  });
  return seen;
}

describe('the default tools/list', () => {
  // Tokens estimated as JSON characters / 4 (no tokenizer here): hosts send the whole listing to the model with every request.
  it('stays at or under 25 tools and ~10k tokens', async () => {
    const { mcp } = await connect();
    const listed = await mcp.listTools();
    const chars = JSON.stringify(listed).length;
    expect(listed.tools.length).toBeLessThanOrEqual(25);
    expect(
      chars / 4,
      `tools/list is ${chars} characters (~${Math.round(chars / 4)} tokens); tighten descriptions or move tools to an optional toolset`,
    ).toBeLessThanOrEqual(10_000);
  });

  it('holds the default toolsets only, and says the others exist', async () => {
    const { mcp } = await connect();
    const names = (await mcp.listTools()).tools.map((t) => t.name);
    const defaults = (await loadTools(DEFAULT_TOOLSETS)).map((t) => t.name);
    expect(names).toEqual(defaults);
    expect(names).toContain('enableToolsets');
    expect(names).not.toContain('listPrearchive');
    expect(mcp.getInstructions()).toContain('enableToolsets');
  });
});

describe('enableToolsets', () => {
  it('lists every toolset, which are on and their tools, when called with none', async () => {
    const connected = await connect();
    const changes = listChanges(connected);
    const out = await callOk<{
      added: string[];
      toolsets: { name: string; enabled: boolean; tools: string[] }[];
    }>(connected.mcp, 'enableToolsets');
    expect(out.added).toEqual([]);
    expect(out.toolsets.map((t) => t.name)).toEqual([...TOOLSETS]);
    const prearchive = out.toolsets.find((t) => t.name === 'prearchive');
    expect(prearchive).toMatchObject({
      enabled: false,
      tools: ['listPrearchive', 'managePrearchive', 'importSession'],
    });
    expect(out.toolsets.find((t) => t.name === 'browse')?.enabled).toBe(true);
    const text = textOf(await call(connected.mcp, 'enableToolsets'));
    expect(text).toContain('prearchive (off)');
    expect(changes.count).toBe(0);
  });

  it('switches a toolset on: list_changed, the tools listed and working', async () => {
    const connected = await connect();
    const changes = listChanges(connected);
    const out = await callOk<{ added: string[] }>(connected.mcp, 'enableToolsets', {
      toolsets: ['prearchive'],
    });
    expect(out.added).toEqual(['listPrearchive', 'managePrearchive', 'importSession']);
    await expect.poll(() => changes.count).toBe(1);
    const names = (await connected.mcp.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['getServerInfo', 'listPrearchive', 'importSession']));
    const sessions = await callOk<ListOut<unknown>>(connected.mcp, 'listPrearchive', {});
    expect(sessions.total).toBeGreaterThanOrEqual(0);
    expect(Array.isArray(sessions.items)).toBe(true);
    // Again: nothing new, nothing announced.
    const again = await callOk<{ added: string[] }>(connected.mcp, 'enableToolsets', {
      toolsets: ['prearchive'],
    });
    expect(again.added).toEqual([]);
  });

  it('keeps read-only mode: writing tools stay off', async () => {
    const connected = await connect({ readOnly: true });
    const out = await callOk<{ added: string[] }>(connected.mcp, 'enableToolsets', {
      toolsets: ['prearchive'],
    });
    expect(out.added).toEqual(['listPrearchive']);
    const names = (await connected.mcp.listTools()).tools.map((t) => t.name);
    expect(names).not.toContain('managePrearchive');
    expect(names).not.toContain('createSubject');
  });

  it('keeps the project allow-list for tools switched on later', async () => {
    const connected = await connect({ toolsets: ['core'], projects: ['NOT_THERE'] });
    await callOk(connected.mcp, 'enableToolsets', { toolsets: ['curate'] });
    const refused = await call(connected.mcp, 'createSubject', { project: 'BRAIN_MR', label: 'NEW_SUBJ_TS' });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/NOT_THERE|allow/i);
  });

  it('rejects unknown toolset names, listing the valid ones', async () => {
    const { mcp } = await connect();
    const bad = await call(mcp, 'enableToolsets', { toolsets: ['bogus'] });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toContain('prearchive');
  });
});
