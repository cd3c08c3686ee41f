/**
 * Several XNAT servers as the built CLI reads them (`dist/cli.js`, built by `npm test`): the single
 * server of XNAT_URL as `default`, more from XNAT_MCP_SERVERS with credentials per server.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CopyShaped } from '../../src/mcp/format-copy.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { callOk, textOf, call } from '../server/helpers.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');
/** No .env or .netrc here: only what a test passes is configured. */
const EMPTY_DIR = mkdtempSync(join(tmpdir(), 'xnat-mcp-servers-'));

let main: RunningSandbox;
let backup: RunningSandbox;

beforeAll(async () => {
  [main, backup] = await Promise.all([
    startSandbox({ archive: createDemoArchive() }),
    startSandbox({ archive: createDemoArchive() }),
  ]);
});

afterAll(async () => {
  await Promise.all([main?.close(), backup?.close()]);
  rmSync(EMPTY_DIR, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: EMPTY_DIR,
    XNAT_URL: main.url,
    XNAT_USER: 'alice',
    XNAT_PASSWORD: 'alice123',
    XNAT_MCP_SERVERS: `backup=${backup.url}`,
    XNAT_BACKUP_USER: 'alice',
    XNAT_BACKUP_PASSWORD: 'alice123',
    XNAT_MCP_TOOLSETS: 'core,copy',
    ...extra,
  };
}

describe('the CLI with several XNAT servers', () => {
  it('serves both by name: getServerInfo lists them and asks either, copyData plans between them', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI],
      env: env(),
      cwd: EMPTY_DIR,
    });
    const mcp = new Client({ name: 'servers-test', version: '0' });
    await mcp.connect(transport);
    try {
      const info = await callOk<{ url: string; servers: unknown }>(mcp, 'getServerInfo', {
        server: 'backup',
      });
      expect(info.url).toBe(backup.url);
      expect(info.servers).toEqual([
        { name: 'default', url: main.url },
        { name: 'backup', url: backup.url },
      ]);
      expect(textOf(await call(mcp, 'getServerInfo', {}))).not.toContain('alice123');
      const plan = await callOk<CopyShaped>(mcp, 'copyData', {
        to: 'backup',
        ids: ['BMR001_MR1'],
        sourceProject: 'BRAIN_MR',
        targetProject: 'PET_AMYLOID',
        dryRun: true,
      });
      expect(plan.from).toEqual({ server: 'default', url: main.url, project: 'BRAIN_MR' });
      expect(plan.to).toEqual({ server: 'backup', url: backup.url, project: 'PET_AMYLOID' });
      expect(plan.items[0]).toMatchObject({ experiment: 'BMR001_MR1', action: 'create' });
    } finally {
      await mcp.close();
    }
  });

  it('does not serve when a named server has no credentials: exit 2 naming the settings, no secret', async () => {
    const serve = spawn(process.execPath, [CLI], {
      env: env({ XNAT_BACKUP_USER: '', XNAT_BACKUP_PASSWORD: '' }),
      cwd: EMPTY_DIR,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let serveErr = '';
    serve.stderr.on('data', (c: Buffer) => (serveErr += c.toString('utf8')));
    const serveCode = await new Promise<number | null>((resolve) => serve.on('close', resolve));
    expect(serveCode).toBe(2);
    expect(serveErr).toMatch(/XNAT_BACKUP_USER and XNAT_BACKUP_PASSWORD/);
    expect(serveErr).not.toContain('alice123');
  });
});
