/**
 * The write pipeline (defineWriteTool) through a real MCP connection, with probe tools that record
 * which of their steps ran: the order resolve → allow-list → plan → dry run → confirmation → act →
 * audit → summary, the guard parameters it appends, and that nothing acts or audits before it may.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { XnatClient } from '../../src/client/index.js';
import { registerTools, writeAnnotations } from '../../src/mcp/define.js';
import type { SafetyOptions } from '../../src/mcp/safety.js';
import { defineWriteTool } from '../../src/mcp/write.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { ALICE, call, textOf } from './helpers.js';

let sandbox: RunningSandbox;
const cleanups: Array<() => Promise<void>> = [];
const steps: string[] = [];
const logLines: string[] = [];

const guarded = defineWriteTool({
  name: 'probeWrite',
  title: 'probe',
  description: 'Walks the guarded write pipeline over a real project',
  toolset: 'curate',
  inputSchema: { project: z.string(), needsAgreement: z.boolean() },
  outputSchema: { done: z.boolean(), summary: z.string() },
  annotations: writeAnnotations({ destructive: true, idempotent: false }),
  resolve: async (args, { client, signal }) => {
    steps.push('resolve');
    return client.describeObject({ kind: 'project', project: args.project }, { signal });
  },
  projects: (target) => [{ project: target.project, action: `touch ${target.id}` }],
  plan: async (target) => {
    steps.push('plan');
    return { target, files: 3 };
  },
  guard: {
    preview: ({ target, files }) => {
      steps.push('preview');
      return { done: false, summary: `Would touch ${files} files of ${target.id}` };
    },
    confirmation: ({ target }, args) =>
      args.needsAgreement
        ? { action: 'touch', target: `project ${target.id}`, expected: target.id }
        : undefined,
  },
  act: async ({ files }) => {
    steps.push('act');
    return { touched: files };
  },
  audit: ({ target }, { touched }) => ({ object: `project ${target.id}`, detail: `files=${touched}` }),
  summarise: ({ target }, { touched }) => ({
    done: true,
    summary: `Touched ${touched} files of ${target.id}`,
  }),
  render: (out) => out.summary,
});

const unguarded = defineWriteTool({
  name: 'probeCreate',
  title: 'probe',
  description: 'Walks the unguarded write pipeline: no target to resolve, no dry run',
  toolset: 'curate',
  inputSchema: { project: z.string(), existed: z.boolean() },
  outputSchema: { created: z.boolean() },
  annotations: writeAnnotations({ destructive: false, idempotent: true }),
  projects: (target, args) => {
    steps.push(`projects(${String(target)})`);
    return [{ project: args.project, action: 'create a probe' }];
  },
  act: async (_, args) => {
    steps.push('act');
    return { created: !args.existed };
  },
  audit: (_, { created }, args) => (created ? { object: `probe in ${args.project}` } : undefined),
  summarise: (_, result) => result,
  render: (out) => (out.created ? 'Created' : 'Existed'),
});

async function connect(safety: SafetyOptions, elicit?: () => ElicitResult): Promise<Client> {
  const xnat = new XnatClient({ url: sandbox.url, ...ALICE });
  const server = new McpServer({ name: 'probe', version: '0' }, { capabilities: { logging: {} } });
  const log = { debug() {}, info: (m: string) => logLines.push(m), warning() {}, error() {} };
  registerTools(server, [guarded, unguarded], { client: xnat, log, safety });
  const client = new Client({ name: 'p', version: '0' }, { capabilities: elicit ? { elicitation: {} } : {} });
  if (elicit) client.setRequestHandler(ElicitRequestSchema, elicit);
  const [c, s] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(s), client.connect(c)]);
  cleanups.push(async () => {
    await client.close();
    await server.close();
    await xnat.close();
  });
  return client;
}

const audits = () => logLines.filter((l) => l.startsWith('write '));

beforeAll(async () => {
  sandbox = await startSandbox({ archive: createDemoArchive() });
});

afterEach(() => {
  steps.length = 0;
  logLines.length = 0;
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await sandbox?.close();
});

describe('defineWriteTool', () => {
  it('appends confirm and dryRun, last, only to guarded tools; every write tool is a writing tool', async () => {
    const client = await connect({});
    const { tools } = await client.listTools();
    const keys = (name: string) =>
      Object.keys(tools.find((t) => t.name === name)?.inputSchema.properties ?? {});
    expect(keys('probeWrite')).toEqual(['project', 'needsAgreement', 'confirm', 'dryRun']);
    expect(keys('probeCreate')).toEqual(['project', 'existed']);
    expect(guarded.writes && unguarded.writes).toBe(true);
  });

  it('checks the allow-list after resolving and before planning: a refused project plans nothing', async () => {
    const client = await connect({ projects: ['OTHER'] });
    const result = await call(client, 'probeWrite', { project: 'BRAIN_MR', needsAgreement: false });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(
      "Cannot touch BRAIN_MR: project BRAIN_MR is not in this server's allowed projects (OTHER; XNAT_MCP_PROJECTS).",
    );
    expect(steps).toEqual(['resolve']);
    const refused = await call(client, 'probeCreate', { project: 'BRAIN_MR', existed: false });
    expect(textOf(refused)).toContain('Cannot create a probe: project BRAIN_MR is not in');
    expect(steps).toEqual(['resolve', 'projects(undefined)']);
    expect(audits()).toEqual([]);
  });

  it('a dry run previews the plan and neither asks, acts nor audits', async () => {
    const client = await connect({ projects: ['BRAIN_MR'] });
    const result = await call(client, 'probeWrite', {
      project: 'BRAIN_MR',
      needsAgreement: true,
      dryRun: true,
    });
    expect(result.structuredContent).toEqual({ done: false, summary: 'Would touch 3 files of BRAIN_MR' });
    expect(steps).toEqual(['resolve', 'plan', 'preview']);
    expect(audits()).toEqual([]);
  });

  it('asks for agreement right before acting, then acts, audits with the tool name and summarises', async () => {
    const client = await connect({});
    const refused = await call(client, 'probeWrite', { project: 'BRAIN_MR', needsAgreement: true });
    expect(textOf(refused)).toBe(
      'To touch project BRAIN_MR, ask the user first; if they agree, repeat the call with confirm: "BRAIN_MR". Use dryRun: true to preview. Nothing was changed.',
    );
    expect(steps).toEqual(['resolve', 'plan']);
    const done = await call(client, 'probeWrite', {
      project: 'BRAIN_MR',
      needsAgreement: true,
      confirm: 'BRAIN_MR',
    });
    expect(done.structuredContent).toEqual({ done: true, summary: 'Touched 3 files of BRAIN_MR' });
    expect(steps).toEqual(['resolve', 'plan', 'resolve', 'plan', 'act']);
    expect(audits()).toEqual(['write user=alice action=probeWrite object=project BRAIN_MR files=3']);
  });

  it('acts without asking when the plan needs no agreement, and by elicitation only once accepted', async () => {
    const plain = await connect({});
    await call(plain, 'probeWrite', { project: 'BRAIN_MR', needsAgreement: false });
    expect(steps).toEqual(['resolve', 'plan', 'act']);
    steps.length = 0;
    let answer: ElicitResult = { action: 'decline' };
    const asking = await connect({}, () => answer);
    const declined = await call(asking, 'probeWrite', { project: 'BRAIN_MR', needsAgreement: true });
    expect(textOf(declined)).toBe(
      'Not done: the user did not confirm to touch project BRAIN_MR. Nothing was changed.',
    );
    expect(steps).toEqual(['resolve', 'plan']);
    answer = { action: 'accept', content: { confirm: true } };
    await call(asking, 'probeWrite', { project: 'BRAIN_MR', needsAgreement: true });
    expect(steps).toEqual(['resolve', 'plan', 'resolve', 'plan', 'act']);
    expect(audits()).toHaveLength(2);
  });

  it('leaves no audit line when the act changed nothing', async () => {
    const client = await connect({});
    expect(
      (await call(client, 'probeCreate', { project: 'BRAIN_MR', existed: true })).structuredContent,
    ).toEqual({
      created: false,
    });
    expect(audits()).toEqual([]);
    await call(client, 'probeCreate', { project: 'BRAIN_MR', existed: false });
    expect(audits()).toEqual(['write user=alice action=probeCreate object=probe in BRAIN_MR']);
  });
});
