/**
 * The built CLI (`dist/cli.js`, built by `npm test`) as hosts and users run it: a child process
 * over stdio, `check`, `demo`, and the exit codes of configuration errors.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { VERSION } from '../../src/version.js';
import type { ListOut } from './helpers.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');
/** A home and working directory with no .env or .netrc, so only what a test passes is configured. */
const EMPTY_DIR = mkdtempSync(join(tmpdir(), 'xnat-mcp-cli-'));

let sandbox: Awaited<ReturnType<typeof startSandbox>>;

beforeAll(async () => {
  sandbox = await startSandbox({ archive: createDemoArchive() });
});

afterAll(async () => {
  await sandbox?.close();
  rmSync(EMPTY_DIR, { recursive: true, force: true });
});

function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: EMPTY_DIR, ...extra };
}

function aliceEnv(extra: Record<string, string> = {}): Record<string, string> {
  return cleanEnv({ XNAT_URL: sandbox.url, XNAT_USER: 'alice', XNAT_PASSWORD: 'alice123', ...extra });
}

interface StdioConfig {
  mcpServers: Record<string, { command: string; args: string[] }>;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env,
      cwd: EMPTY_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('stdio', () => {
  it('serves tools to an SDK client in a child process, with nothing but protocol on stdout', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI],
      env: aliceEnv({ XNAT_MCP_LOG_LEVEL: 'debug' }),
      cwd: EMPTY_DIR,
      stderr: 'pipe',
    });
    const stdoutErrors: string[] = [];
    transport.onerror = (err) => stdoutErrors.push(err.message);
    let stderr = '';
    transport.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const mcp = new Client({ name: 'stdio-test', version: '0' });
    await mcp.connect(transport);
    await mcp.listTools();
    const result = await mcp.callTool({
      name: 'searchExperiments',
      arguments: { project: 'BRAIN_MR', limit: 3 },
    });
    expect((result.structuredContent as unknown as ListOut<unknown>).items).toHaveLength(3);
    const bad = await mcp.callTool({ name: 'getProject', arguments: { project: 'PEDS_DTI' } });
    expect(bad.isError).toBe(true);
    await mcp.close();
    expect(stdoutErrors).toEqual([]);
    // Debug logs went somewhere: stderr, never into the protocol stream.
    expect(stderr).toContain('[xnat-mcp]');
    expect(stderr).not.toContain('alice123');
  });

  it('writes only JSON-RPC lines to stdout (raw child process)', async () => {
    const child = spawn(process.execPath, [CLI, 'serve'], {
      env: aliceEnv({ XNAT_MCP_LOG_LEVEL: 'debug' }),
      cwd: EMPTY_DIR,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stderr.resume();
    const lines: string[] = [];
    const responses = new Map<number, unknown>();
    const waiters = new Map<number, () => void>();
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      try {
        const msg = JSON.parse(line) as { id?: number };
        if (typeof msg.id === 'number') {
          responses.set(msg.id, msg);
          waiters.get(msg.id)?.();
        }
      } catch {
        // Counted below: every line must parse.
      }
    });
    const send = (msg: object) => child.stdin.write(`${JSON.stringify(msg)}\n`);
    const request = (id: number, method: string, params: object = {}) =>
      new Promise<void>((resolve) => {
        waiters.set(id, resolve);
        send({ jsonrpc: '2.0', id, method, params });
      });
    await request(1, 'initialize', {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'raw', version: '0' },
    });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await request(2, 'tools/list');
    await request(3, 'tools/call', { name: 'listProjects', arguments: {} });
    await request(4, 'tools/call', { name: 'getExperiment', arguments: { experiment: 'nope' } });
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(responses.size).toBe(4);
    for (const line of lines) {
      const msg = JSON.parse(line) as { jsonrpc?: string };
      expect(msg.jsonrpc, line).toBe('2.0');
    }
  });

  it('exposes only the toolsets chosen by XNAT_MCP_TOOLSETS, a flag overriding it', async () => {
    const listed = async (args: string[], env: Record<string, string>) => {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [CLI, ...args],
        env,
        cwd: EMPTY_DIR,
      });
      const mcp = new Client({ name: 'toolsets-test', version: '0' });
      await mcp.connect(transport);
      const { tools } = await mcp.listTools();
      await mcp.close();
      return tools.map((t) => t.name);
    };
    expect(await listed([], aliceEnv({ XNAT_MCP_TOOLSETS: 'search' }))).toEqual([
      'searchSubjects',
      'searchExperiments',
    ]);
    expect(await listed(['--toolsets', 'core'], aliceEnv({ XNAT_MCP_TOOLSETS: 'search' }))).toEqual([
      'getServerInfo',
      'enableToolsets',
    ]);
  });

  it('runs the embedded demo over stdio (demo --stdio)', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'demo', '--stdio'],
      env: cleanEnv(),
      cwd: EMPTY_DIR,
      stderr: 'ignore',
    });
    const stdoutErrors: string[] = [];
    transport.onerror = (err) => stdoutErrors.push(err.message);
    const mcp = new Client({ name: 'demo-test', version: '0' });
    await mcp.connect(transport);
    const result = await mcp.callTool({ name: 'getServerInfo', arguments: {} });
    expect(result.structuredContent).toMatchObject({ user: 'alice' });
    await mcp.close();
    expect(stdoutErrors).toEqual([]);
  });
});

describe('demo over HTTP', () => {
  it('prints the MCP URL and the stdio config, serves it, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'demo', '--port', '0'], {
      env: cleanEnv(),
      cwd: EMPTY_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr.resume();
    let banner = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.on('close', (code) => reject(new Error(`demo exited with ${code}`)));
      child.stdout.on('data', (c: Buffer) => {
        banner += c.toString('utf8');
        if (banner.includes('Ctrl-C')) {
          const m = /MCP server \(Streamable HTTP\): (\S+)/.exec(banner);
          if (m?.[1]) resolve(m[1]);
        }
      });
    });
    expect(banner).toMatch(/XNAT sandbox: http:\/\/127\.0\.0\.1:\d+/);
    // The printed stdio config runs this very install (the name is not on npm yet); npx is only
    // mentioned as the form once published.
    const printed = /^ {2}(\{"mcpServers".*)$/m.exec(banner)?.[1];
    const server = (JSON.parse(printed ?? '{}') as StdioConfig).mcpServers['xnat-demo'];
    expect(server).toEqual({ command: process.execPath, args: [CLI, 'demo', '--stdio'] });
    if (!server) throw new Error('no xnat-demo entry in the printed config');
    expect(banner).toMatch(/once xnat-mcp is published on npm: .*"-y", "xnat-mcp", "demo", "--stdio"/);
    const transport = new StreamableHTTPClientTransport(new URL(url));
    const mcp = new Client({ name: 'demo-http', version: '0' });
    await mcp.connect(transport);
    const projects = await mcp.callTool({ name: 'listProjects', arguments: {} });
    expect(
      (projects.structuredContent as unknown as ListOut<{ id: string }>).items.map((p) => p.id),
    ).toContain('BRAIN_MR');
    await mcp.close();
    const stdio = new Client({ name: 'demo-printed-stdio', version: '0' });
    await stdio.connect(
      new StdioClientTransport({
        command: server.command,
        args: server.args,
        env: cleanEnv(),
        cwd: EMPTY_DIR,
        stderr: 'ignore',
      }),
    );
    const viaStdio = await stdio.callTool({ name: 'listProjects', arguments: {} });
    expect(
      (viaStdio.structuredContent as unknown as ListOut<{ id: string }>).items.map((p) => p.id),
    ).toContain('BRAIN_MR');
    await stdio.close();
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('check and configuration errors', () => {
  it('check prints the XNAT version and the logged-in user', async () => {
    const result = await run(['check'], aliceEnv());
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/XNAT \S+ at http:\/\/127\.0\.0\.1:\d+, logged in as alice/);
    expect(result.stdout).toContain('password from env XNAT_PASSWORD');
    expect(result.stdout).not.toContain('alice123');
  });

  it('check fails with exit 1 and one clear line on wrong credentials', async () => {
    const result = await run(['check'], aliceEnv({ XNAT_PASSWORD: 'wrong-secret-77' }));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/XNAT_USER and XNAT_PASSWORD/);
    expect(result.stderr).not.toContain('wrong-secret-77');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('check fails with exit 1 when XNAT is unreachable', async () => {
    const result = await run(['check'], aliceEnv({ XNAT_URL: 'http://127.0.0.1:9' }));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/unreachable at http:\/\/127\.0\.0\.1:9/);
  });

  it('exits 2 with one line naming what to set when nothing is configured', async () => {
    for (const command of [[], ['check']]) {
      const result = await run(command, cleanEnv());
      expect(result.code).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/XNAT_URL|--url/);
      expect(result.stdout).toBe('');
    }
  });

  it('exits 2 on an unknown toolset, listing the valid ones', async () => {
    const result = await run(['--toolsets', 'browse,nope'], aliceEnv());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/'nope'.*core, browse, search/);
  });

  it('warns on stderr when read-only mode leaves none of the chosen tools', async () => {
    const empty = await run(['--read-only', '--toolsets', 'curate,transfer'], aliceEnv());
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toMatch(/warning: No tools to serve: read-only mode .* curate, transfer/);
    const some = await run(['--read-only', '--toolsets', 'curate,browse'], aliceEnv());
    expect(some.stderr).not.toMatch(/No tools/);
  });

  it('exits 2 on an unknown flag', async () => {
    const result = await run(['--frobnicate'], aliceEnv());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/frobnicate/);
  });

  it('exits 2 when asked to serve HTTP beyond loopback without a token', async () => {
    const result = await run(['--http', '--host', '0.0.0.0', '--port', '0'], aliceEnv());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/XNAT_MCP_HTTP_TOKEN/);
  });

  it('exits 2 on session limits that are not whole numbers of at least 1', async () => {
    const flag = await run(['--http', '--port', '0', '--max-sessions', '0'], aliceEnv());
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--max-sessions must be a whole number of at least 1 \(got '0'\)/);
    const env = await run(['--http', '--port', '0'], aliceEnv({ XNAT_MCP_SESSION_IDLE_SECONDS: 'soon' }));
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/XNAT_MCP_SESSION_IDLE_SECONDS must be a whole number/);
  });

  it('prints its version and help', async () => {
    expect((await run(['--version'], cleanEnv())).stdout.trim()).toBe(VERSION);
    const help = await run(['--help'], cleanEnv());
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--toolsets');
    expect(help.stdout).toContain('--max-sessions');
    expect(help.stdout).toContain('--session-idle');
  });
});
