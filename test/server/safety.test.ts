/**
 * The safety framework through real MCP connections: read-only mode, the project allow-list,
 * confirmation by elicitation (accepted, declined, absent), local roots (configured and offered by
 * the client; `..`, absolute paths and symlinks), progress notifications and audit logging.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  type CallToolResult,
  type ElicitResult,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { XnatClient } from '../../src/client/index.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import type { SandboxArchive, StoredExperiment } from '../../src/sandbox/model.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { createServer, WRITE_INSTRUCTIONS, type ServerOptions } from '../../src/server.js';
import { defineTool, registerTools, writeAnnotations } from '../../src/mcp/define.js';
import { ALICE, call, callOk, textOf } from './helpers.js';

let sandbox: RunningSandbox;
let archive: SandboxArchive;
const cleanups: Array<() => Promise<void> | void> = [];

interface ClientBehaviour {
  elicit?: (message: string) => ElicitResult;
  roots?: string[];
}

/** An MCP client with optional elicitation/roots capabilities, on a server made by the one factory. */
async function connect(options: ServerOptions, behaviour: ClientBehaviour = {}) {
  const xnat = new XnatClient({ url: sandbox.url, ...ALICE });
  const server = await createServer({ client: xnat }, options);
  const mcp = clientWith(behaviour);
  const [c, s] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(s), mcp.client.connect(c)]);
  await mcp.client.listTools();
  cleanups.push(async () => {
    await mcp.client.close();
    await server.close();
    await xnat.close();
  });
  return mcp;
}

function clientWith(behaviour: ClientBehaviour) {
  const prompts: string[] = [];
  const logs: string[] = [];
  const client = new Client(
    { name: 'safety-test', version: '0' },
    {
      capabilities: {
        ...(behaviour.elicit ? { elicitation: {} } : {}),
        ...(behaviour.roots ? { roots: {} } : {}),
      },
    },
  );
  const { elicit, roots } = behaviour;
  if (elicit) {
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      prompts.push(request.params.message);
      return elicit(request.params.message);
    });
  }
  if (roots) {
    client.setRequestHandler(ListRootsRequestSchema, () => ({
      roots: roots.map((r) => ({ uri: pathToFileURL(r).href })),
    }));
  }
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    logs.push(String(n.params.data));
  });
  return { client, prompts, logs };
}

function sessionOfBrain(): StoredExperiment {
  const found = [...archive.experiments.values()].find(
    (e) => e.project === 'BRAIN_MR' && e.shares.length === 0,
  );
  if (!found) throw new Error('no BRAIN_MR session');
  return found;
}

beforeAll(async () => {
  archive = createDemoArchive();
  sandbox = await startSandbox({ archive });
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await sandbox?.close();
});

describe('read-only mode', () => {
  it('removes every writing tool, whatever toolsets are asked for', async () => {
    const { client } = await connect({
      readOnly: true,
      toolsets: ['curate', 'transfer', 'prearchive', 'browse'],
    });
    const { tools } = await client.listTools();
    expect(tools.length).toBeGreaterThan(0);
    for (const tool of tools) expect(tool.annotations?.readOnlyHint).toBe(true);
    const names = tools.map((t) => t.name);
    for (const write of ['createSubject', 'deleteObject', 'setQuarantine', 'updateFields', 'shareObject']) {
      expect(names).not.toContain(write);
    }
    const result = (await client.callTool({
      name: 'deleteObject',
      arguments: { kind: 'experiment', experiment: sessionOfBrain().id },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(archive.experiments.has(sessionOfBrain().id)).toBe(true);
  });

  it('explains confirmation in the instructions only when writing tools are exposed', async () => {
    const readOnly = await connect({ readOnly: true });
    expect(readOnly.client.getInstructions()).not.toContain(WRITE_INSTRUCTIONS);
    const writable = await connect({});
    expect(writable.client.getInstructions()).toContain(WRITE_INSTRUCTIONS);
  });
});

describe('project allow-list', () => {
  it('refuses writes outside the allowed projects, resolving the owning project of an ID', async () => {
    const { client } = await connect({ projects: ['PET_AMYLOID'] });
    const created = (await client.callTool({
      name: 'createSubject',
      arguments: { project: 'BRAIN_MR', label: 'ALLOW_1' },
    })) as CallToolResult;
    expect(created.isError).toBe(true);
    expect(textOf(created)).toMatch(
      /BRAIN_MR is not in this server's allowed projects \(PET_AMYLOID; XNAT_MCP_PROJECTS\)/,
    );
    expect([...archive.subjects.values()].some((s) => s.label === 'ALLOW_1')).toBe(false);
    const session = sessionOfBrain();
    const deleted = (await client.callTool({
      name: 'deleteObject',
      arguments: { kind: 'experiment', experiment: session.id, confirm: session.id },
    })) as CallToolResult;
    expect(deleted.isError).toBe(true);
    expect(textOf(deleted)).toMatch(/allowed projects/);
    expect(archive.experiments.has(session.id)).toBe(true);
    const ok = await callOk<{ created: boolean }>(client, 'createSubject', {
      project: 'PET_AMYLOID',
      label: 'ALLOW_2',
    });
    expect(ok.created).toBe(true);
  });

  it('checks both sides of a share', async () => {
    const { client } = await connect({ projects: ['BRAIN_MR'] });
    const session = sessionOfBrain();
    const result = await call(client, 'shareObject', {
      kind: 'experiment',
      id: session.id,
      targetProject: 'PET_AMYLOID',
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/PET_AMYLOID is not in this server's allowed projects/);
    expect(session.shares.some((s) => s.project === 'PET_AMYLOID')).toBe(false);
  });
});

describe('confirmation by elicitation', () => {
  async function newExperiment(client: Client): Promise<string> {
    const label = `EL_${Math.floor(Math.random() * 1e9)}`;
    const subject = await callOk<{ id: string }>(client, 'createSubject', { project: 'BRAIN_MR', label });
    const experiment = await callOk<{ id: string }>(client, 'createExperiment', {
      project: 'BRAIN_MR',
      subject: subject.id,
      label: `${label}_MR`,
      xsiType: 'xnat:mrSessionData',
    });
    return experiment.id;
  }

  it('asks the user, naming action and target, and proceeds only on an explicit yes', async () => {
    const accept = await connect({}, { elicit: () => ({ action: 'accept', content: { confirm: true } }) });
    const id = await newExperiment(accept.client);
    await callOk(accept.client, 'deleteObject', { kind: 'experiment', experiment: id });
    expect(archive.experiments.has(id)).toBe(false);
    expect(accept.prompts).toHaveLength(1);
    expect(accept.prompts[0]).toMatch(new RegExp(`delete experiment .*${id}`));
  });

  it('a declined, cancelled or unticked answer changes nothing, even with a matching confirm argument', async () => {
    const answers: ElicitResult[] = [
      { action: 'decline' },
      { action: 'cancel' },
      { action: 'accept', content: { confirm: false } },
    ];
    for (const answer of answers) {
      const declined = await connect({}, { elicit: () => answer });
      const id = await newExperiment(declined.client);
      const result = await call(declined.client, 'deleteObject', {
        kind: 'experiment',
        experiment: id,
        confirm: id,
      });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/did not confirm/);
      expect(archive.experiments.has(id)).toBe(true);
    }
  });

  it('without elicitation the confirm argument is required (fails closed)', async () => {
    const plain = await connect({});
    const id = await newExperiment(plain.client);
    const result = await call(plain.client, 'setQuarantine', { experiment: id, quarantined: true });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain(`confirm: "${id}"`);
    expect(archive.experiments.get(id)?.status).toBe('active');
  });
});

describe('confirmation with a client that offers only URL-mode elicitation', () => {
  it('falls back to the confirm argument instead of failing on an unsupported form request', async () => {
    const xnat = new XnatClient({ url: sandbox.url, ...ALICE });
    const server = await createServer({ client: xnat });
    const client = new Client(
      { name: 'url-only', version: '0' },
      { capabilities: { elicitation: { url: {} } } },
    );
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      asked.push(request.params.message);
      return { action: 'cancel' };
    });
    const [c, s] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(s), client.connect(c)]);
    cleanups.push(async () => {
      await client.close();
      await server.close();
      await xnat.close();
    });
    await client.listTools();
    const id = sessionOfBrain().id;
    const refused = await call(client, 'setQuarantine', { experiment: id, quarantined: true });
    expect(textOf(refused)).toContain(`confirm: "${id}"`);
    await callOk(client, 'setQuarantine', { experiment: id, quarantined: true, confirm: id });
    expect(archive.experiments.get(id)?.status).toBe('quarantine');
    await callOk(client, 'setQuarantine', { experiment: id, quarantined: false, confirm: id });
    expect(asked).toEqual([]);
  });
});

describe('audit lines', () => {
  it('go to MCP logging with the XNAT login and never a credential', async () => {
    const mcp = await connect({});
    await mcp.client.setLoggingLevel('info');
    await callOk(mcp.client, 'createSubject', { project: 'BRAIN_MR', label: 'AUDIT_1' });
    const subject = [...archive.subjects.values()].find((s) => s.label === 'AUDIT_1');
    await expect.poll(() => mcp.logs.some((l) => l.includes(`object=subject ${subject?.id}`))).toBe(true);
    const line = mcp.logs.find((l) => l.startsWith('write '));
    expect(line).toMatch(/^write user=alice action=createSubject object=subject /);
    expect(mcp.logs.join('\n')).not.toContain(ALICE.password);
  });
});

describe('local paths and progress (through a probe tool)', () => {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'xnat-mcp-safety-')));
  const rootA = join(base, 'a');
  const rootB = join(base, 'b');
  const outside = join(base, 'outside');
  for (const dir of [rootA, rootB, outside, join(rootA, 'sub')]) mkdirSync(dir, { recursive: true });
  writeFileSync(join(rootA, 'in.txt'), 'in');
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  symlinkSync(outside, join(rootA, 'escape'));
  symlinkSync(join(rootA, 'sub'), join(rootB, 'link-to-a'));
  symlinkSync(join(rootA, 'loop'), join(rootA, 'loop'));
  cleanups.push(() => rmSync(base, { recursive: true, force: true }));

  const probe = defineTool({
    name: 'probePath',
    title: 'probe',
    description: 'Resolves a path with the safety API and reports progress',
    toolset: 'transfer',
    inputSchema: { path: z.string(), mode: z.enum(['read', 'write']) },
    outputSchema: { resolved: z.string() },
    annotations: writeAnnotations({ destructive: false, idempotent: true }),
    writes: false,
    async handler({ path, mode }, ctx) {
      await ctx.progress({ progress: 1, total: 2, message: 'resolving' });
      const resolved = await ctx.safety.resolveLocalPath(path, mode);
      await ctx.progress({ progress: 1, total: 2, message: 'repeated value is dropped' });
      await ctx.progress({ progress: 2, total: 2, message: 'done' });
      return { resolved };
    },
    render: (out) => out.resolved,
  });

  async function probeServer(roots: string[] | undefined, behaviour: ClientBehaviour = {}) {
    const xnat = new XnatClient({ url: sandbox.url, ...ALICE });
    const server = new McpServer({ name: 'probe', version: '0' }, { capabilities: { logging: {} } });
    registerTools(server, [probe], {
      client: xnat,
      log: { debug() {}, info() {}, warning() {}, error() {} },
      safety: { roots },
    });
    const mcp = clientWith(behaviour);
    const [c, s] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(s), mcp.client.connect(c)]);
    cleanups.push(async () => {
      await mcp.client.close();
      await server.close();
      await xnat.close();
    });
    return async (path: string, mode: 'read' | 'write' = 'read') =>
      (await mcp.client.callTool({ name: 'probePath', arguments: { path, mode } })) as CallToolResult;
  }

  function resolvedOf(result: CallToolResult): string {
    if (result.isError) throw new Error(textOf(result));
    return (result.structuredContent as { resolved: string }).resolved;
  }

  it('resolves relative paths against the first configured root and keeps them inside', async () => {
    const probePath = await probeServer([rootA, rootB]);
    expect(resolvedOf(await probePath('in.txt'))).toBe(join(rootA, 'in.txt'));
    expect(resolvedOf(await probePath(join(rootB, 'new', 'deeper', 'file.dcm'), 'write'))).toBe(
      join(rootB, 'new', 'deeper', 'file.dcm'),
    );
    expect(resolvedOf(await probePath('sub/../in.txt'))).toBe(join(rootA, 'in.txt'));
  });

  it('refuses ../ escapes, absolute paths outside the roots and symlinks leading out', async () => {
    const probePath = await probeServer([rootA]);
    for (const path of [
      '../outside/secret.txt',
      join(outside, 'secret.txt'),
      'escape/secret.txt',
      'escape/new.txt',
    ]) {
      const result = await probePath(path, path.endsWith('new.txt') ? 'write' : 'read');
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('outside the allowed directories');
      expect(textOf(result)).toContain(rootA);
    }
    const missing = await probePath('nothing-here.txt', 'read');
    expect(textOf(missing)).toMatch(/does not exist/);
  });

  it('defaults to the working directory', async () => {
    const probePath = await probeServer(undefined);
    expect(resolvedOf(await probePath('.', 'read'))).toBe(realpathSync(process.cwd()));
    expect((await probePath(outside, 'read')).isError).toBe(true);
  });

  it("uses the client's roots instead of the configured ones when the client offers them", async () => {
    const probePath = await probeServer([rootA], { roots: [rootB] });
    expect((await probePath(join(rootA, 'in.txt'))).isError).toBe(true);
    expect(resolvedOf(await probePath('x.txt', 'write'))).toBe(join(rootB, 'x.txt'));
    // A symlink inside the client's root that points into another directory is judged by its target.
    expect((await probePath('link-to-a', 'read')).isError).toBe(true);
  });

  it("applies the operator's roots when the client offers roots but lists none; with neither, refuses", async () => {
    const operatorRoots = await probeServer([rootA], { roots: [] });
    expect(resolvedOf(await operatorRoots('in.txt'))).toBe(join(rootA, 'in.txt'));
    expect((await operatorRoots(join(outside, 'secret.txt'))).isError).toBe(true);
    const none = await probeServer(undefined, { roots: [] });
    expect(textOf(await none('in.txt'))).toMatch(/No local directory is allowed/);
  });

  it('refuses a symbolic link loop with a clear input error', async () => {
    const probePath = await probeServer([rootA]);
    for (const path of ['loop', 'loop/inner.txt']) {
      for (const mode of ['read', 'write'] as const) {
        const result = await probePath(path, mode);
        expect(result.isError).toBe(true);
        expect(textOf(result)).toMatch(/symbolic link(s)? loop/);
        expect(textOf(result)).not.toMatch(/Internal error|ELOOP:/);
      }
    }
  });

  it('sends increasing progress notifications only when asked for', async () => {
    const xnat = new XnatClient({ url: sandbox.url, ...ALICE });
    const server = new McpServer({ name: 'probe', version: '0' });
    registerTools(server, [probe], {
      client: xnat,
      log: { debug() {}, info() {}, warning() {}, error() {} },
      safety: { roots: [rootA] },
    });
    const client = new Client({ name: 'p', version: '0' });
    const [c, s] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(s), client.connect(c)]);
    cleanups.push(async () => {
      await client.close();
      await server.close();
      await xnat.close();
    });
    const updates: Progress[] = [];
    await client.callTool({ name: 'probePath', arguments: { path: 'in.txt', mode: 'read' } }, undefined, {
      onprogress: (p) => updates.push(p),
    });
    expect(updates.map((u) => [u.progress, u.message])).toEqual([
      [1, 'resolving'],
      [2, 'done'],
    ]);
    const silent = (await client.callTool({
      name: 'probePath',
      arguments: { path: 'in.txt', mode: 'read' },
    })) as CallToolResult;
    expect(silent.isError).toBeFalsy();
  });
});

describe('CLI options (the built dist/cli.js over stdio)', () => {
  const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

  async function stdioClient(args: string[], env: Record<string, string>) {
    const home = mkdtempSync(join(tmpdir(), 'xnat-mcp-cli-safety-'));
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, ...args],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: home,
        XNAT_URL: sandbox.url,
        XNAT_USER: 'alice',
        XNAT_PASSWORD: 'alice123',
        ...env,
      },
      cwd: home,
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const client = new Client({ name: 'cli-safety', version: '0' });
    await client.connect(transport);
    cleanups.push(async () => {
      await client.close();
      rmSync(home, { recursive: true, force: true });
    });
    return { client, stderr: () => stderr };
  }

  it('XNAT_MCP_READ_ONLY wins over the toolsets asked for', async () => {
    const { client } = await stdioClient([], {
      XNAT_MCP_READ_ONLY: 'true',
      XNAT_MCP_TOOLSETS: 'curate,browse',
    });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      ['getExperiment', 'getProject', 'getSubject', 'listFiles', 'listProjects'].sort(),
    );
  });

  it('--projects beats XNAT_MCP_PROJECTS, and the audit line goes to stderr', async () => {
    const { client, stderr } = await stdioClient(['--projects', 'PET_AMYLOID'], {
      XNAT_MCP_PROJECTS: 'BRAIN_MR',
      XNAT_MCP_TOOLSETS: 'curate',
    });
    const refused = (await client.callTool({
      name: 'createSubject',
      arguments: { project: 'BRAIN_MR', label: 'CLI_1' },
    })) as CallToolResult;
    expect(textOf(refused)).toMatch(/allowed projects \(PET_AMYLOID/);
    await callOk(client, 'createSubject', { project: 'PET_AMYLOID', label: 'CLI_2' });
    await expect
      .poll(() => stderr())
      .toMatch(/write user=alice action=createSubject object=subject \S+ project=PET_AMYLOID label=CLI_2/);
    expect(stderr()).not.toContain('alice123');
  });
});
