/**
 * HTTP-layer behaviour that the sandbox has no reason to exhibit (XNAT behind a flaky proxy, a
 * browser-style login redirect, a hung server), exercised against tiny loopback servers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  XnatAuthenticationError,
  XnatCancelledError,
  XnatNetworkError,
  XnatProtocolError,
  XnatServerError,
  XnatTimeoutError,
} from '../../src/client/errors.js';
import { XnatClient } from '../../src/client/client.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const servers: Server[] = [];
const clients: XnatClient[] = [];

async function serve(handler: Handler): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`);
      if (req.method === 'POST' && req.url === '/xnat/data/JSESSION') {
        res.writeHead(200, {
          'content-type': 'text/plain',
          'set-cookie': 'JSESSIONID=ABC123; Path=/xnat; HttpOnly',
        });
        res.end('ABC123');
        return;
      }
      if (req.method === 'DELETE' && req.url === '/xnat/data/JSESSION') {
        res.writeHead(200).end();
        return;
      }
      handler(req, res, body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/xnat`, seen };
}

function client(url: string, extra: Partial<ConstructorParameters<typeof XnatClient>[0]> = {}): XnatClient {
  const c = new XnatClient({ url, user: 'alice', password: 'hunter2', retries: 3, ...extra });
  clients.push(c);
  return c;
}

const projects = JSON.stringify({
  ResultSet: {
    Result: [
      { ID: 'P1', secondary_ID: 'P1', name: 'One', description: '', pi_firstname: '', pi_lastname: '' },
    ],
    totalRecords: '1',
  },
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('HTTP layer against loopback servers', () => {
  it('retries GET on 503 with backoff and counts every request', async () => {
    let calls = 0;
    const headers: Array<Record<string, string | undefined>> = [];
    const { url, seen } = await serve((req, res) => {
      calls++;
      if (calls <= 2) {
        res
          .writeHead(503, { 'content-type': 'text/html' })
          .end('<html><body><h3>down for maintenance</h3></body></html>');
      } else {
        headers.push({
          cookie: req.headers.cookie,
          authorization: req.headers.authorization,
          ua: req.headers['user-agent'],
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(projects);
      }
    });
    const c = client(url);
    const lines: string[] = [];
    const logged = client(url, { log: (line) => lines.push(line) });
    expect((await c.listProjects()).map((p) => p.id)).toEqual(['P1']);
    expect(c.stats).toEqual({ requests: 4, logins: 1, retries: 2 });
    expect(seen.filter((line) => line.startsWith('GET /xnat/data/projects'))).toHaveLength(3);
    // Only the session cookie travels after login, with a non-browser user agent.
    expect(headers[0]).toEqual({
      cookie: 'JSESSIONID=ABC123',
      authorization: undefined,
      ua: expect.stringMatching(/^xnat-mcp\/\S+ \(node\)$/),
    });
    await logged.listProjects();
    expect(lines[0]).toMatch(/^POST \/data\/JSESSION 200 \d+ms$/);
    expect(lines.some((line) => /^GET \/data\/projects 200 \d+ms$/.test(line))).toBe(true);
    expect(lines.join('\n')).not.toContain('hunter2');
  });

  it('gives up after the configured retries with XNAT’s message, and never retries POST', async () => {
    const { url, seen } = await serve((_req, res) => {
      res
        .writeHead(503, { 'content-type': 'text/html' })
        .end('<html><body><h3>down for maintenance</h3></body></html>');
    });
    const c = client(url, { retries: 1 });
    const err = await c.listProjects().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XnatServerError);
    expect((err as XnatServerError).xnatMessage).toBe('down for maintenance');
    expect((err as XnatServerError).status).toBe(503);
    expect(seen.filter((line) => line.startsWith('GET'))).toHaveLength(2);
    const searchErr = await c
      .search({ rootElement: 'xnat:mrSessionData', fields: [{ fieldId: 'LABEL' }] })
      .catch((e: unknown) => e);
    expect(searchErr).toBeInstanceOf(XnatServerError);
    expect(seen.filter((line) => line.startsWith('POST /xnat/data/search'))).toHaveLength(1);
  });

  it('retries a dropped connection on GET', async () => {
    let calls = 0;
    const { url } = await serve((req, res) => {
      calls++;
      if (calls === 1) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(projects);
    });
    const c = client(url);
    expect(await c.listProjects()).toHaveLength(1);
    expect(c.stats.retries).toBe(1);
  });

  it('treats a redirect to the login page as a lost session: one re-login, then an auth error', async () => {
    const { url, seen } = await serve((_req, res) => {
      res.writeHead(302, { location: '/xnat/app/template/Login.vm' }).end();
    });
    const c = client(url);
    const err = await c.listProjects().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XnatAuthenticationError);
    expect(c.stats.logins).toBe(2);
    expect(seen.filter((line) => line.includes('Login.vm'))).toHaveLength(0);
  });

  it('treats an HTML page where JSON was expected as a lost session, then a protocol error', async () => {
    const { url } = await serve((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!DOCTYPE html><html><title>XNAT Login</title></html>');
    });
    const c = client(url);
    const err = await c.listProjects().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XnatProtocolError);
    expect(c.stats.logins).toBe(2);
  });

  it('follows same-origin GET redirects but drops the cookie across origins', async () => {
    const cookies: Array<string | undefined> = [];
    const other = await serve((req, res) => {
      cookies.push(req.headers.cookie);
      res.writeHead(200, { 'content-type': 'application/json' }).end(projects);
    });
    const { url } = await serve((req, res) => {
      if (req.url?.startsWith('/xnat/data/projects')) {
        res.writeHead(302, { location: '/xnat/data/archive/projects?format=json' }).end();
      } else {
        res.writeHead(301, { location: `${other.url}/data/projects?format=json` }).end();
      }
    });
    const c = client(url);
    expect(await c.listProjects()).toHaveLength(1);
    expect(other.seen).toEqual(['GET /xnat/data/projects?format=json']);
    expect(cookies).toEqual([undefined]);
  });

  it('reports timeouts, cancellation and unreachable servers with their own error classes', async () => {
    const { url } = await serve(() => {
      /* never answers */
    });
    await expect(client(url, { timeoutMs: 300, retries: 0 }).listProjects()).rejects.toBeInstanceOf(
      XnatTimeoutError,
    );

    const controller = new AbortController();
    const pending = client(url).listProjects({ signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toBeInstanceOf(XnatCancelledError);

    const closed = await serve(() => undefined);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const err = await client(closed.url, { retries: 0 })
      .listProjects()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XnatNetworkError);
    expect((err as Error).message).toContain(closed.url);
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('warns once about disabled TLS verification', async () => {
    const lines: string[] = [];
    client('https://127.0.0.1:1/xnat', { insecure: true, log: (line) => lines.push(line) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/TLS certificate verification is disabled/);
  });
});

describe('an XNAT that ignores limit/offset', () => {
  const rows = ['E1', 'E2', 'E3'].map((id) => ({
    ID: id,
    label: `L_${id}`,
    project: 'P1',
    xsiType: 'xnat:mrSessionData',
    date: '',
    insert_date: '',
  }));

  async function unpagedServer(): Promise<{ url: string; seen: string[] }> {
    return serve((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ResultSet: { Result: rows, totalRecords: String(rows.length) } }));
    });
  }

  it('iterates every row once instead of asking for the same rows forever', async () => {
    const { url, seen } = await unpagedServer();
    const ids: string[] = [];
    for await (const e of client(url).iterateExperiments({ project: 'P1', pageSize: 2 })) ids.push(e.id);
    expect(ids).toEqual(['E1', 'E2', 'E3']);
    expect(seen.filter((line) => line.startsWith('GET /xnat/data/projects/P1/experiments'))).toHaveLength(1);
  });

  it('stops after one request when the answer is whole (exactly one page of rows, totalRecords)', async () => {
    const { url, seen } = await unpagedServer();
    const ids: string[] = [];
    for await (const e of client(url).iterateExperiments({ project: 'P1', pageSize: 3 })) ids.push(e.id);
    expect(ids).toEqual(['E1', 'E2', 'E3']);
    expect(seen.filter((line) => line.startsWith('GET /xnat/data/projects/P1/experiments'))).toHaveLength(1);
  });

  it('stops when a later page repeats the first (no totalRecords to tell)', async () => {
    const { url, seen } = await serve((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ResultSet: { Result: rows } }));
    });
    const ids: string[] = [];
    for await (const e of client(url).iterateExperiments({ project: 'P1', pageSize: 2 })) ids.push(e.id);
    expect(ids).toEqual(['E1', 'E2', 'E3']);
    expect(seen.filter((line) => line.startsWith('GET /xnat/data/projects/P1/experiments'))).toHaveLength(2);
  });

  it('still returns bounded pages with the right total and next offset', async () => {
    const { url } = await unpagedServer();
    const xnat = client(url);
    const first = await xnat.listExperiments({ project: 'P1', limit: 2 });
    expect(first.items.map((e) => e.id)).toEqual(['E1', 'E2']);
    expect(first).toMatchObject({ total: 3, nextOffset: 2 });
    const second = await xnat.listExperiments({ project: 'P1', limit: 2, offset: 2 });
    expect(second.items.map((e) => e.id)).toEqual(['E3']);
    expect(second.total).toBe(3);
    expect(second.nextOffset).toBeUndefined();
  });
});
