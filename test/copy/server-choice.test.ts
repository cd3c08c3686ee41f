/**
 * With several XNAT servers configured every tool takes `server`: the call goes to that server, as
 * that server's user. With one server the listing has no `server` (test/toolsnaps holds that form).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/index.js';
import { serverDirectory, type ServerDirectory } from '../../src/mcp/servers.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { startHttpServer, type RunningHttpServer } from '../../src/transports/http.js';
import { ALICE, call, callOk, textOf } from '../server/helpers.js';

let main: RunningSandbox;
let backup: RunningSandbox;
let mainClient: XnatClient;
let servers: ServerDirectory;
let http: RunningHttpServer;
let mcp: Client;

beforeAll(async () => {
  [main, backup] = await Promise.all([
    startSandbox({ archive: createDemoArchive() }),
    startSandbox({ archive: createDemoArchive() }),
  ]);
  mainClient = new XnatClient({ url: main.url, ...ALICE });
  servers = serverDirectory([
    { name: 'main', url: main.url, client: mainClient },
    { name: 'backup', url: backup.url, create: () => new XnatClient({ url: backup.url, ...ALICE }) },
  ]);
  http = await startHttpServer({ client: mainClient, servers }, {}, { port: 0 });
  mcp = new Client({ name: 'server-choice-test', version: '0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(http.url)));
}, 60_000);

afterAll(async () => {
  await mcp?.close();
  await http?.close();
  await servers?.close();
  await mainClient?.close();
  await Promise.all([main?.close(), backup?.close()]);
});

describe('several XNAT servers', () => {
  it('lists an optional server on every tool', async () => {
    const { tools } = await mcp.listTools();
    for (const tool of tools) {
      const properties = (tool.inputSchema.properties ?? {}) as Record<string, unknown>;
      expect(Object.keys(properties), tool.name).toContain('server');
    }
  });

  it('sends a call to the named server only', async () => {
    await callOk(mcp, 'createSubject', { project: 'BRAIN_MR', label: 'ONLY_ON_BACKUP', server: 'backup' });
    const onBackup = await call(mcp, 'getSubject', {
      project: 'BRAIN_MR',
      subject: 'ONLY_ON_BACKUP',
      server: 'backup',
    });
    expect(onBackup.isError).toBeFalsy();
    const onMain = await call(mcp, 'getSubject', { project: 'BRAIN_MR', subject: 'ONLY_ON_BACKUP' });
    expect(onMain.isError).toBe(true);
    const direct = new XnatClient({ url: backup.url, ...ALICE });
    try {
      const subject = await direct.getSubject('ONLY_ON_BACKUP', { project: 'BRAIN_MR' });
      expect(subject.label).toBe('ONLY_ON_BACKUP');
    } finally {
      await direct.close();
    }
  });

  it('refuses an unknown server name, naming the configured ones', async () => {
    const result = await call(mcp, 'listProjects', { server: 'elsewhere' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Unknown XNAT server "elsewhere".*main, backup/);
  });
});
