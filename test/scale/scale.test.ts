/**
 * Scale-out: three server processes (the built CLI) behind Debian's nginx, configured by
 * `xnat-mcp nginx-config` and started by this test as an unprivileged process in a temporary folder.
 * 50 SDK clients make 100 calls each through nginx (one in ten a write); one process is killed
 * mid-run: its clients get the protocol's 404 for their session, initialize again elsewhere and
 * repeat the call, and every write lands exactly once. Then 1,000 sessions are opened and abandoned,
 * and each remaining process's heap (after a collection) must end where it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';

const NGINX = '/usr/sbin/nginx';
const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');
const haveNginx = existsSync(NGINX);
if (!haveNginx) {
  if (process.env.CI === 'true') throw new Error(`${NGINX} is missing: CI installs Debian's nginx (.ci/run)`);
  console.warn(`test/scale skipped: ${NGINX} is not installed (apt-get install nginx)`);
}

const CLIENTS = 50;
const CALLS = 100;
const WRITE_EVERY = 10;
const ABANDONED = 1000;
const INSTANCES = ['a', 'b', 'c'];

interface Instance {
  id: string;
  child: ChildProcess;
  port: number;
  stderr: string[];
}

let sandbox: RunningSandbox;
let runDir: string;
let nginx: ChildProcess | undefined;
let nginxUrl: string;
const instances = new Map<string, Instance>();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function startInstance(id: string): Promise<Instance> {
  const child = spawn(
    process.execPath,
    ['--expose-gc', CLI, 'serve', '--http', '--port', '0', '--instance-id', id, '--max-sessions', '2000'],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: runDir,
        XNAT_URL: sandbox.url,
        XNAT_USER: 'alice',
        XNAT_PASSWORD: 'alice123',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const stderr: string[] = [];
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`instance ${id} exited (${code}): ${stderr.join('')}`)));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr.push(chunk);
      const port = /listening on http:\/\/127\.0\.0\.1:(\d+)\/mcp/.exec(stderr.join(''))?.[1];
      if (port !== undefined) resolve({ id, child, port: Number(port), stderr });
    });
  });
}

async function startNginx(): Promise<void> {
  const port = await freePort();
  const config = spawn(
    process.execPath,
    [
      CLI,
      'nginx-config',
      '--listen',
      `127.0.0.1:${port}`,
      '--run-dir',
      runDir,
      ...[...instances.values()].flatMap((i) => ['--instance', `${i.id}=127.0.0.1:${i.port}`]),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let text = '';
  config.stdout!.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  await new Promise((resolve) => config.once('exit', resolve));
  writeFileSync(join(runDir, 'nginx.conf'), text);
  nginx = spawn(NGINX, ['-p', runDir, '-c', join(runDir, 'nginx.conf'), '-e', join(runDir, 'error.log')], {
    stdio: 'ignore',
  });
  nginxUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${nginxUrl}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('nginx did not come up');
}

beforeAll(async () => {
  if (!haveNginx) return;
  runDir = mkdtempSync(join(tmpdir(), 'xnat-mcp-scale-'));
  sandbox = await startSandbox({ archive: createDemoArchive() });
  for (const instance of await Promise.all(INSTANCES.map(startInstance)))
    instances.set(instance.id, instance);
  await startNginx();
}, 120_000);

afterAll(async () => {
  nginx?.kill('SIGTERM');
  for (const { child } of instances.values()) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(
    [nginx, ...[...instances.values()].map((i) => i.child)].map((child) =>
      child === undefined || child.exitCode !== null || child.signalCode !== null
        ? undefined
        : new Promise((resolve) => child.once('exit', resolve)),
    ),
  );
  await sandbox?.close();
  if (runDir) rmSync(runDir, { recursive: true, force: true });
});

/** An MCP client that, when its session is lost, initializes a new one and repeats the call. */
class ResilientClient {
  private client: Client | undefined;
  /** Calls in flight; a broken stream leaves them unanswered, so they are all given up at once. */
  private readonly inFlight = new Set<AbortController>();
  sessionId: string | undefined;
  recoveries = 0;
  notFound = 0;

  private async connect(): Promise<Client> {
    const client = new Client({ name: 'load', version: '0' });
    const transport = new StreamableHTTPClientTransport(new URL(`${nginxUrl}/mcp`));
    await client.connect(transport);
    // A stream cut mid-answer leaves its call unanswered (an answered POST reports its own error).
    client.onerror = (err) => {
      if (!err.message.startsWith('SSE stream disconnected')) return;
      for (const call of this.inFlight) call.abort();
    };
    this.client = client;
    this.sessionId = transport.sessionId;
    return client;
  }

  /**
   * A broken stream leaves the session in doubt: the call is repeated in it (the balancer may still
   * reach its process). A 404 says the session is gone: a new one is initialized and the call repeated.
   */
  async call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    let failure: unknown;
    for (let attempt = 0; attempt < 6; attempt++) {
      const call = new AbortController();
      try {
        const client = this.client ?? (await this.connect());
        this.inFlight.add(call);
        return (await client.callTool({ name, arguments: args }, undefined, {
          signal: call.signal,
          timeout: 60_000,
        })) as CallToolResult;
      } catch (err) {
        failure = err;
        if (call.signal.aborted) continue;
        if (err instanceof StreamableHTTPError && err.code === 404) this.notFound++;
        this.recoveries++;
        const old = this.client;
        this.client = undefined;
        await old?.close().catch(() => undefined);
      } finally {
        this.inFlight.delete(call);
      }
    }
    throw failure;
  }

  async close(): Promise<void> {
    await this.client?.close().catch(() => undefined);
  }
}

async function health(
  instance: Instance,
  gc = false,
): Promise<{ sessions: number; memory: { heapUsed: number } }> {
  const res = await fetch(`http://127.0.0.1:${instance.port}/healthz${gc ? '?gc=1' : ''}`);
  return (await res.json()) as { sessions: number; memory: { heapUsed: number } };
}

async function untilNoSessions(instance: Instance): Promise<void> {
  // Each closes when its stream has been gone for the grace time (10 s).
  for (let i = 0; i < 1200 && (await health(instance)).sessions > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect((await health(instance)).sessions).toBe(0);
}

/**
 * Opens sessions through nginx as a client does (initialize, then the GET stream) and walks away
 * without ending them: the stream closes and does not come back.
 */
async function abandonSessions(count: number): Promise<void> {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      const opened = await fetch(`${nginxUrl}/mcp`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: LATEST_PROTOCOL_VERSION,
            capabilities: {},
            clientInfo: { name: 'gone', version: '0' },
          },
        }),
      });
      expect(opened.status).toBe(200);
      await opened.text();
      const sessionId = opened.headers.get('mcp-session-id')!;
      const stop = new AbortController();
      const stream = await fetch(`${nginxUrl}/mcp`, {
        headers: {
          accept: 'text/event-stream',
          'mcp-session-id': sessionId,
          'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
        },
        signal: stop.signal,
      });
      expect(stream.status).toBe(200);
      stop.abort();
    }
  };
  await Promise.all(Array.from({ length: 20 }, worker));
}

describe.skipIf(!haveNginx)('three processes behind nginx', () => {
  it('routes each session to its process; 50 clients x 100 calls with one process killed midway lose nothing', async () => {
    const clients = Array.from({ length: CLIENTS }, () => new ResilientClient());
    let done = 0;
    let killed = false;
    let orphan: string | undefined;
    const errors: string[] = [];
    const writes = new Set<string>();
    const run = async (client: ResilientClient, n: number): Promise<void> => {
      for (let i = 0; i < CALLS; i++) {
        const write = i % WRITE_EVERY === 0;
        const label = `LOAD_${n}_${i}`;
        const result = write
          ? await client.call('createSubject', { project: 'BRAIN_MR', label, ifExists: 'return' })
          : await client.call('listProjects', {});
        if (result.isError) errors.push(JSON.stringify(result.content));
        else if (write) writes.add(label);
        done++;
        if (!killed && done >= (CLIENTS * CALLS) / 3) {
          killed = true;
          orphan = clients.find((c) => c.sessionId?.startsWith('b.'))?.sessionId;
          instances.get('b')!.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(clients.map((client, n) => run(client, n)));
    await Promise.all(clients.map((client) => client.close()));

    expect(errors).toEqual([]);
    expect(done).toBe(CLIENTS * CALLS);
    // Sessions spread over the processes, and the killed one's clients came back through a new session.
    expect(orphan).toBeDefined();
    const recovered = clients.filter((c) => c.recoveries > 0);
    expect(recovered.length).toBeGreaterThan(0);
    expect(clients.some((c) => c.notFound > 0)).toBe(true);
    // The session the dead process held: the protocol's answer for an unknown session.
    const gone = await fetch(`${nginxUrl}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': orphan!,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }),
    });
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: { code: number } }).error.code).toBe(-32001);
    // Every write landed, once.
    const loaded = [...sandbox.archive.subjects.values()].filter((s) => s.label.startsWith('LOAD_'));
    expect(writes.size).toBe((CLIENTS * CALLS) / WRITE_EVERY);
    expect(loaded.map((s) => s.label).sort()).toEqual([...writes].sort());
    // Bounds for a machine shared with other work: a quiet two-core machine needs a fraction of them.
  }, 600_000);

  it('keeps each process at the same memory after 1,000 sessions opened and abandoned', async () => {
    const alive = [...instances.values()].filter(
      (i) => i.child.exitCode === null && i.child.signalCode === null,
    );
    expect(alive.map((i) => i.id)).toEqual(['a', 'c']);
    // Warm-up (code paths compiled, pools filled), then the baseline.
    await abandonSessions(100);
    for (const instance of alive) await untilNoSessions(instance);
    const before = await Promise.all(alive.map((i) => health(i, true)));

    await abandonSessions(ABANDONED);
    for (const instance of alive) await untilNoSessions(instance);
    const after = await Promise.all(alive.map((i) => health(i, true)));
    for (const [n, instance] of alive.entries()) {
      const grown = after[n]!.memory.heapUsed - before[n]!.memory.heapUsed;
      // ~500 sessions each: a leak of even 20 KiB per session would show.
      expect(grown, `instance ${instance.id} heap grew by ${grown} bytes`).toBeLessThan(8 * 1024 * 1024);
    }
  }, 600_000);
});
