import { request as httpRequest } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatConfigError } from '../../src/client/errors.js';
import { XnatClient } from '../../src/client/index.js';
import { startSandboxWithFaults, type SandboxWithFaults } from '../../src/sandbox/testing.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { startHttpServer, type RunningHttpServer } from '../../src/transports/http.js';
import { ALICE, type ListOut } from './helpers.js';

let sandbox: SandboxWithFaults;
let xnat: XnatClient;
let open: RunningHttpServer;
let guarded: RunningHttpServer;
const TOKEN = 'test-token-0123456789';

beforeAll(async () => {
  sandbox = await startSandboxWithFaults({ archive: createDemoArchive() });
  xnat = new XnatClient({ url: sandbox.url, ...ALICE });
  open = await startHttpServer({ client: xnat }, {}, { port: 0 });
  guarded = await startHttpServer({ client: xnat }, {}, { port: 0, token: TOKEN });
});

afterAll(async () => {
  await open?.close();
  await guarded?.close();
  await xnat?.close();
  await sandbox?.close();
});

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: LATEST_PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: { name: 'raw', version: '0' },
  },
};

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http rather than fetch, so the Host header can be forged like a DNS-rebinding page would. */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: options.method ?? 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body === undefined ? undefined : JSON.stringify(options.body));
  });
}

async function connect(url: string, headers: Record<string, string> = {}) {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  const mcp = new Client({ name: 'http-test', version: '0' });
  await mcp.connect(transport);
  return { mcp, transport };
}

describe('Streamable HTTP', () => {
  it('serves tools over a stateful session and ends it on DELETE', async () => {
    const { mcp, transport } = await connect(open.url);
    const sessionId = transport.sessionId;
    expect(sessionId).toBeTruthy();
    await mcp.listTools();
    const result = await mcp.callTool({ name: 'listProjects', arguments: {} });
    const out = result.structuredContent as unknown as ListOut<{ id: string }>;
    expect(out.items.map((p) => p.id)).toContain('BRAIN_MR');
    await mcp.setLoggingLevel('warning');
    await mcp.ping();
    expect(open.sessionCount()).toBeGreaterThanOrEqual(1);

    await transport.terminateSession();
    await mcp.close();
    const after = await raw(open.url, {
      headers: { 'mcp-session-id': sessionId ?? '', 'mcp-protocol-version': LATEST_PROTOCOL_VERSION },
      body: { jsonrpc: '2.0', id: 2, method: 'tools/list' },
    });
    expect(after.status).toBe(404);
  });

  it('keeps sessions apart, all sharing one XNAT client', async () => {
    const a = await connect(open.url);
    const b = await connect(open.url);
    expect(a.transport.sessionId).not.toBe(b.transport.sessionId);
    await a.mcp.callTool({ name: 'getServerInfo', arguments: {} });
    const loginsBefore = sandbox.stats.logins;
    const [ra, rb] = await Promise.all([
      a.mcp.callTool({ name: 'getServerInfo', arguments: {} }),
      b.mcp.callTool({ name: 'getServerInfo', arguments: {} }),
    ]);
    // Same server, same user; only the clock-driven details (uptime, session expiry) may differ.
    const steady = (r: typeof ra) => ({ ...(r.structuredContent as object), uptime: 0, sessionExpiresAt: 0 });
    expect(steady(ra)).toEqual(steady(rb));
    // Both sessions ride the XNAT session the shared client already holds.
    expect(sandbox.stats.logins).toBe(loginsBefore);
    await a.transport.terminateSession();
    await b.transport.terminateSession();
    await a.mcp.close();
    await b.mcp.close();
  });

  it('answers a non-initialize request without a session with 400', async () => {
    const res = await raw(open.url, { body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number) } });
  });

  it('answers an unknown session with 404', async () => {
    const res = await raw(open.url, {
      headers: { 'mcp-session-id': 'no-such-session', 'mcp-protocol-version': LATEST_PROTOCOL_VERSION },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    });
    expect(res.status).toBe(404);
  });
});

/** JSON-RPC messages of an SSE (or plain JSON) POST answer, handed over one by one as they arrive. */
function postStreaming(
  url: string,
  headers: Record<string, string>,
  body: unknown,
  onMessage: (message: Record<string, unknown>) => void,
): Promise<void> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
      },
      (res) => {
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let end: number;
          while ((end = buffered.indexOf('\n\n')) >= 0) {
            const event = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const data = event
              .split('\n')
              .filter((l) => l.startsWith('data:'))
              .map((l) => l.slice(5).trim())
              .join('');
            if (data !== '') onMessage(JSON.parse(data) as Record<string, unknown>);
          }
        });
        res.on('end', () => resolve());
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('server-to-client requests', () => {
  it("asks for confirmation on the tool call's own stream, even without a standalone GET stream", async () => {
    const [experiment] = (await xnat.listExperiments({ project: 'BRAIN_MR', limit: 1 })).items;
    if (experiment === undefined) throw new Error('no BRAIN_MR experiment');
    const init = await raw(open.url, {
      body: { ...INITIALIZE, params: { ...INITIALIZE.params, capabilities: { elicitation: {} } } },
    });
    const sessionId = String(init.headers['mcp-session-id']);
    const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION };
    await raw(open.url, { headers, body: { jsonrpc: '2.0', method: 'notifications/initialized' } });

    const prompts: string[] = [];
    let result: { isError?: boolean; content: Array<{ text: string }> } | undefined;
    await postStreaming(
      open.url,
      headers,
      {
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'setQuarantine', arguments: { experiment: experiment.id, quarantined: true } },
      },
      (message) => {
        if (message.method === 'elicitation/create') {
          prompts.push(String((message.params as { message: string }).message));
          void raw(open.url, {
            headers,
            body: { jsonrpc: '2.0', id: message.id, result: { action: 'decline' } },
          });
        } else if (message.id === 2) {
          result = message.result as typeof result;
        }
      },
    );
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain(experiment.id);
    expect(result?.isError).toBe(true);
    expect(result?.content[0]?.text).toMatch(/did not confirm/);
    expect((await xnat.getExperiment(experiment.id)).status).toBe('active');
    await raw(open.url, { method: 'DELETE', headers });
  });
});

describe('abandoned sessions', () => {
  it('closes sessions that stay idle, so they do not pile up', async () => {
    // Long enough for the client to finish connecting on a loaded machine (50 ms was not).
    const shortLived = await startHttpServer({ client: xnat }, {}, { port: 0, sessionIdleMs: 300 });
    try {
      const { mcp } = await connect(shortLived.url);
      expect(shortLived.sessionCount()).toBe(1);
      while (shortLived.sessionCount() > 0) await new Promise((resolve) => setTimeout(resolve, 25));
      await mcp.close();
      const res = await raw(shortLived.url, { body: INITIALIZE });
      expect(res.status).toBe(200);
    } finally {
      await shortLived.close();
    }
  });
});

describe('session limits', () => {
  it('refuses a session beyond --max-sessions with 503 and a JSON-RPC error saying so', async () => {
    const capped = await startHttpServer({ client: xnat }, {}, { port: 0, maxSessions: 2 });
    try {
      const a = await connect(capped.url);
      const b = await connect(capped.url);
      const refused = await raw(capped.url, { body: INITIALIZE });
      expect(refused.status).toBe(503);
      const body = JSON.parse(refused.body) as { error: { code: number; message: string } };
      expect(body.error.message).toMatch(/session limit \(2 open sessions\)/);
      expect(capped.sessionCount()).toBe(2);
      // Ending a session (DELETE) frees its place.
      await a.transport.terminateSession();
      await a.mcp.close();
      expect(capped.sessionCount()).toBe(1);
      const c = await connect(capped.url);
      await c.mcp.close();
      await b.mcp.close();
    } finally {
      await capped.close();
    }
  });

  it('closes a session whose client closed its transport without DELETE', async () => {
    const server = await startHttpServer({ client: xnat }, {}, { port: 0, streamGraceMs: 50 });
    try {
      const { mcp } = await connect(server.url);
      await mcp.listTools();
      // The SDK client opens the standalone GET stream after initializing; wait until it is up.
      await expect.poll(() => server.streamCount(), { timeout: 5000 }).toBe(1);
      expect(server.sessionCount()).toBe(1);
      await mcp.close();
      await expect.poll(() => server.sessionCount(), { timeout: 5000 }).toBe(0);
    } finally {
      await server.close();
    }
  });
});

describe('busy sessions', () => {
  it('keeps a session open while it serves a call that outlasts the idle time', async () => {
    // Idle time well above the few milliseconds between connecting and calling (even on a loaded
    // machine), and each XNAT answer of the call held back longer than that.
    const shortLived = await startHttpServer({ client: xnat }, {}, { port: 0, sessionIdleMs: 500 });
    try {
      const { mcp, transport } = await connect(shortLived.url);
      sandbox.faults.delayResponses(1200);
      const result = await mcp.callTool({ name: 'getProject', arguments: { project: 'BRAIN_MR' } });
      sandbox.faults.clear();
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({ id: 'BRAIN_MR' });
      await transport.terminateSession();
      await mcp.close();
    } finally {
      sandbox.faults.clear();
      await shortLived.close();
    }
  });
});

describe('other routes', () => {
  it('answers /healthz, and 404/405 elsewhere', async () => {
    const base = open.url.replace(/\/mcp$/, '');
    const health = await raw(`${base}/healthz`, { method: 'GET' });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' });
    expect((await raw(`${base}/other`, { body: INITIALIZE })).status).toBe(404);
    expect((await raw(open.url, { method: 'PUT', body: INITIALIZE })).status).toBe(405);
  });
});

describe('DNS-rebinding protection', () => {
  it('rejects a foreign Host with 403 and a JSON-RPC error body', async () => {
    const res = await raw(open.url, { headers: { host: `evil.example.com:${open.port}` }, body: INITIALIZE });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({
      jsonrpc: '2.0',
      error: { message: expect.stringMatching(/Host/) },
    });
  });

  it('rejects a foreign Origin with 403', async () => {
    const res = await raw(open.url, { headers: { origin: 'http://evil.example.com' }, body: INITIALIZE });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ error: { message: expect.stringMatching(/Origin/) } });
  });

  it('accepts localhost names on any port', async () => {
    const res = await raw(open.url, {
      headers: { host: 'localhost:1', origin: `http://localhost:${open.port}` },
      body: INITIALIZE,
    });
    expect(res.status).toBe(200);
  });
});

describe('bearer token', () => {
  it('answers 401 with a Bearer challenge without or with a wrong token', async () => {
    const none = await raw(guarded.url, { body: INITIALIZE });
    expect(none.status).toBe(401);
    expect(String(none.headers['www-authenticate'])).toMatch(/^Bearer/);
    const wrong = await raw(guarded.url, { headers: { authorization: 'Bearer nope' }, body: INITIALIZE });
    expect(wrong.status).toBe(401);
    expect(wrong.body).not.toContain(TOKEN);
  });

  it('serves a client that sends the token', async () => {
    const ok = await raw(guarded.url, { headers: { authorization: `Bearer ${TOKEN}` }, body: INITIALIZE });
    expect(ok.status).toBe(200);
    const { mcp, transport } = await connect(guarded.url, { authorization: `Bearer ${TOKEN}` });
    const { tools } = await mcp.listTools();
    expect(tools.length).toBeGreaterThan(0);
    await transport.terminateSession();
    await mcp.close();
  });

  it('refuses to bind beyond loopback without a token', async () => {
    await expect(startHttpServer({ client: xnat }, {}, { host: '0.0.0.0', port: 0 })).rejects.toThrow(
      XnatConfigError,
    );
    await expect(startHttpServer({ client: xnat }, {}, { host: '0.0.0.0', port: 0 })).rejects.toThrow(
      /XNAT_MCP_HTTP_TOKEN/,
    );
  });
});
