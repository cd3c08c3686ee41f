/**
 * Team mode over real HTTP: SDK clients in separate MCP sessions of one server sign in to XNAT as
 * different users on the connect page, driven like a browser would (GET the page, read the CSRF
 * token and cookie, POST the form). The sandbox sits behind a recording proxy so the test knows every
 * XNAT session ID the server was given, and searches logs, results and errors for them.
 */
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ElicitRequestSchema,
  ElicitationCompleteNotificationSchema,
  type CallToolResult,
  type ElicitRequestURLParams,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStderrLogger } from '../../src/mcp/logger.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { startHttpServer, type RunningHttpServer } from '../../src/transports/http.js';

let sandbox: RunningSandbox;
let proxy: Server;
let server: RunningHttpServer;
/** Every line the server and its XNAT clients logged. */
const logLines: string[] = [];
/** Every result, error and page the test saw. */
const seen: string[] = [];
/** JSESSIONID values XNAT handed out (through the proxy). */
const xnatSessionIds = new Set<string>();
let carolToken: { alias: string; secret: string };
const open: Client[] = [];

/** A pass-through to the sandbox that notes the session IDs in its answers. */
async function startRecordingProxy(target: URL): Promise<Server> {
  const proxyServer = createHttpServer((req, res) => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        for (const cookie of answer.headers['set-cookie'] ?? []) {
          const match = /^JSESSIONID=([^;]+)/.exec(cookie);
          if (match?.[1]) xnatSessionIds.add(match[1]);
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxyServer.listen(0, '127.0.0.1', resolve));
  return proxyServer;
}

function proxyUrl(): string {
  return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}

const logger = createStderrLogger('debug', (line) => logLines.push(line));

beforeAll(async () => {
  sandbox = await startSandbox({ archive: createDemoArchive() });
  proxy = await startRecordingProxy(new URL(sandbox.url));
  server = await startHttpServer(
    { log: logger },
    { projects: ['BRAIN_MR', 'PET_AMYLOID'] },
    { port: 0, team: { xnat: { url: proxyUrl(), log: (line) => logLines.push(line) } } },
  );
  // Carol signs in with an alias token of her own, as a script user would.
  const issued = await fetch(`${sandbox.url}/data/services/tokens/issue`, {
    headers: { authorization: `Basic ${Buffer.from('carol:carol123').toString('base64')}` },
  });
  carolToken = (await issued.json()) as { alias: string; secret: string };
});

afterAll(async () => {
  await Promise.all(open.map((c) => c.close().catch(() => undefined)));
  await server?.close();
  await new Promise((resolve) => proxy?.close(resolve));
  await sandbox?.close();
});

interface Session {
  client: Client;
  transport: StreamableHTTPClientTransport;
  elicitations: ElicitRequestURLParams[];
  completed: string[];
}

/** An MCP session; with `onUrl` the client declares URL elicitation and hands each URL to it. */
async function connect(onUrl?: (url: string) => void, target: RunningHttpServer = server): Promise<Session> {
  const client = new Client(
    { name: 'team-test', version: '0' },
    { capabilities: onUrl === undefined ? {} : { elicitation: { url: {} } } },
  );
  const elicitations: ElicitRequestURLParams[] = [];
  const completed: string[] = [];
  if (onUrl !== undefined) {
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      const params = request.params as ElicitRequestURLParams;
      elicitations.push(params);
      // The user consents, and signs in afterwards in the browser.
      setImmediate(() => onUrl(params.url));
      return { action: 'accept' };
    });
    client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => {
      completed.push(n.params.elicitationId);
    });
  }
  const transport = new StreamableHTTPClientTransport(new URL(target.url));
  await client.connect(transport);
  open.push(client);
  return { client, transport, elicitations, completed };
}

async function call(
  session: Session,
  name: string,
  args: Record<string, unknown> = {},
): Promise<CallToolResult> {
  const result = (await session.client.callTool({ name, arguments: args })) as CallToolResult;
  seen.push(JSON.stringify(result));
  return result;
}

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

function projectIds(result: CallToolResult): string[] {
  const items = (result.structuredContent as { items: { id: string }[] }).items;
  return items.map((p) => p.id).sort();
}

interface Page {
  status: number;
  body: string;
  csrf?: string;
  cookie?: string;
  action?: string;
}

async function getPage(url: string): Promise<Page> {
  const res = await fetch(url);
  const body = await res.text();
  seen.push(body);
  return {
    status: res.status,
    body,
    csrf: /name="csrf" value="([^"]+)"/.exec(body)?.[1],
    cookie: res.headers.getSetCookie()[0]?.split(';')[0],
    action: /<form method="post" action="([^"]+)"/.exec(body)?.[1],
  };
}

async function postForm(
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(url).origin, ...headers },
    body: new URLSearchParams(form),
  });
  const body = await res.text();
  seen.push(body);
  return { status: res.status, body };
}

/** What a browser does with a sign-in link: load the form, then submit it with its token and cookie. */
async function signInAt(
  url: string,
  username: string,
  password: string,
): Promise<{ status: number; body: string }> {
  const page = await getPage(url);
  expect(page.status).toBe(200);
  expect(page.csrf).toBeDefined();
  return postForm(
    new URL(page.action!, url).href,
    { csrf: page.csrf!, username, password },
    { cookie: page.cookie! },
  );
}

function linkIn(message: string): string {
  const url = /(http:\/\/\S+\/connect\/[A-Za-z0-9_.-]+)/.exec(message)?.[1];
  expect(url, message).toBeDefined();
  return url!;
}

describe('team mode', () => {
  let alice: Session;
  let carol: Session;
  let aliceLink = '';

  it('signs alice in through URL elicitation: the call waits for the sign-in, then runs as her', async () => {
    let signedIn: Promise<{ status: number; body: string }> | undefined;
    alice = await connect((url) => {
      aliceLink = url;
      signedIn = signInAt(url, 'alice', 'alice123');
    });
    const projects = await call(alice, 'listProjects');
    expect(projects.isError).toBeFalsy();
    expect(projectIds(projects)).toEqual(['BRAIN_MR', 'PET_AMYLOID']);
    expect((await signedIn)?.status).toBe(200);
    expect(alice.elicitations).toHaveLength(1);
    expect(alice.elicitations[0]?.mode).toBe('url');
    expect(alice.completed).toEqual([alice.elicitations[0]?.elicitationId]);
    // The URL carries nothing about the user.
    expect(aliceLink).not.toMatch(/alice/i);
  });

  it('asks again after the user declined to open the sign-in page', async () => {
    let answers = 0;
    const undecided = await connect(() => undefined);
    undecided.client.setRequestHandler(ElicitRequestSchema, (request) => {
      undecided.elicitations.push(request.params as ElicitRequestURLParams);
      return { action: answers++ === 0 ? 'decline' : 'cancel' };
    });
    const declined = await call(undecided, 'listProjects');
    expect(declined.isError).toBe(true);
    expect(text(declined)).toMatch(/declined.*Not signed in to XNAT/s);
    await call(undecided, 'listProjects');
    expect(undecided.elicitations).toHaveLength(2);
    // The same link both times: it is still the way in.
    expect(undecided.elicitations[1]?.url).toBe(undecided.elicitations[0]?.url);
    await undecided.client.close();
  });

  it('tells a client without URL elicitation which page to open; carol signs in there with an alias token', async () => {
    carol = await connect();
    const refused = await call(carol, 'listProjects');
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/Not signed in to XNAT/);
    const link = linkIn(text(refused));
    const done = await signInAt(link, carolToken.alias, carolToken.secret);
    expect(done.status).toBe(200);
    expect(done.body).toContain('carol');
    const projects = await call(carol, 'listProjects');
    // PEDS_DTI is private to carol; the other two are listed for every user.
    expect(projectIds(projects)).toEqual(['BRAIN_MR', 'PEDS_DTI', 'PET_AMYLOID']);
  });

  it('keeps each session to its own user', async () => {
    const forAlice = await call(alice, 'getProject', { project: 'PEDS_DTI' });
    expect(forAlice.isError).toBe(true);
    const forCarol = await call(carol, 'getProject', { project: 'PEDS_DTI' });
    expect(forCarol.isError).toBeFalsy();
    // Alice's used link cannot sign anyone else into her session.
    const reused = await getPage(aliceLink);
    expect(reused.status).toBe(410);
    // The operator's options hold for every user: writes only in the allow-listed projects.
    const carolWrite = await call(carol, 'createSubject', { project: 'PEDS_DTI', label: 'T1', dryRun: true });
    expect(carolWrite.isError).toBe(true);
    expect(text(carolWrite)).toMatch(/PEDS_DTI/);
    const aliceWrite = await call(alice, 'createSubject', {
      project: 'BRAIN_MR',
      label: 'TEAM_T1',
      dryRun: true,
    });
    expect(aliceWrite.isError).toBeFalsy();
  });

  it('signs a session out when XNAT stops accepting its token, and asks again', async () => {
    const erin = await connect();
    const link = linkIn(text(await call(erin, 'listProjects')));
    expect((await signInAt(link, 'bob', 'bob123')).status).toBe(200);
    expect((await call(erin, 'listProjects')).isError).toBeFalsy();
    // Bob's token for this session is disabled and XNAT forgets its sessions (a restart, a revocation).
    for (const token of sandbox.archive.tokens) if (token.login === 'bob') token.enabled = false;
    sandbox.expireSessions();
    const refused = await call(erin, 'listProjects');
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/no longer accepts this session's sign-in/);
    const again = await call(erin, 'listProjects');
    expect(text(again)).toMatch(/Not signed in to XNAT/);
    expect(linkIn(text(again))).not.toBe(link);
  });

  it('refuses a session that never signed in', async () => {
    const stranger = await connect();
    const result = await call(stranger, 'listProjects');
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/sign in/i);
    expect((await stranger.client.listResources()).resources).toEqual([]);
    await expect(stranger.client.readResource({ uri: 'xnat://projects/BRAIN_MR' })).rejects.toThrow(
      /Not signed in/,
    );
  });

  it('refuses forms without the CSRF token or cookie, wrong passwords, and reused links', async () => {
    const dave = await connect();
    const link = linkIn(text(await call(dave, 'listProjects')));
    const page = await getPage(link);
    const action = new URL(page.action!, link).href;
    const form = { csrf: page.csrf!, username: 'dave', password: 'dave123' };
    expect((await postForm(action, { ...form, csrf: 'forged' }, { cookie: page.cookie! })).status).toBe(403);
    expect((await postForm(action, form)).status).toBe(403);
    const wrong = await postForm(
      action,
      { ...form, password: 'not-daves-password' },
      { cookie: page.cookie! },
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body).not.toContain('not-daves-password');
    // Another site's page cannot post the form (Origin check), even with the token.
    const crossSite = await fetch(action, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://evil.example',
        cookie: page.cookie!,
      },
      body: new URLSearchParams(form),
    });
    expect(crossSite.status).toBe(403);
    expect((await postForm(action, form, { cookie: page.cookie! })).status).toBe(200);
    expect((await postForm(action, form, { cookie: page.cookie! })).status).toBe(410);
    expect(projectIds(await call(dave, 'listProjects'))).toEqual(['BRAIN_MR', 'PET_AMYLOID']);
  });

  it('lets a sign-in link expire', async () => {
    const shortLived = await startHttpServer(
      { log: logger },
      {},
      { port: 0, team: { xnat: { url: proxyUrl() }, linkTtlMs: 1 } },
    );
    try {
      const late = await connect(undefined, shortLived);
      const link = linkIn(text(await call(late, 'listProjects')));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await getPage(link)).status).toBe(410);
      await late.client.close();
    } finally {
      await shortLived.close();
    }
  });

  it('keeps nothing of abandoned sessions: their links go with them', async () => {
    const churned = await startHttpServer(
      { log: logger },
      {},
      { port: 0, streamGraceMs: 20, team: { xnat: { url: proxyUrl() } } },
    );
    try {
      for (let round = 0; round < 3; round++) {
        const sessions = await Promise.all(Array.from({ length: 10 }, () => connect(undefined, churned)));
        for (const session of sessions) expect((await call(session, 'listProjects')).isError).toBe(true);
        expect(churned.pendingLinks()).toBe(10);
        // Closed without DELETE, as most clients leave.
        await Promise.all(sessions.map((s) => s.client.close()));
        for (let i = 0; i < 200 && churned.sessionCount() > 0; i++) {
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        expect(churned.sessionCount()).toBe(0);
        expect(churned.pendingLinks()).toBe(0);
      }
    } finally {
      await churned.close();
    }
  });

  it('revokes every token it was given when the sessions end, and never shows a credential or XNAT session', async () => {
    for (const session of [alice, carol]) {
      await session.transport.terminateSession();
      await session.client.close();
    }
    await server.close();
    const issuedByServer = sandbox.archive.tokens.filter((t) => t.alias !== carolToken.alias);
    expect(issuedByServer.length).toBeGreaterThanOrEqual(3);
    expect(issuedByServer.every((t) => !t.enabled)).toBe(true);
    // Carol's own token is hers: the server used it once and left it alone.
    expect(sandbox.archive.tokens.find((t) => t.alias === carolToken.alias)?.enabled).toBe(true);

    expect(xnatSessionIds.size).toBeGreaterThanOrEqual(3);
    const secrets = [
      'alice123',
      'carol123',
      'dave123',
      'bob123',
      ...sandbox.archive.tokens.flatMap((t) => [t.alias, t.secret]),
      ...xnatSessionIds,
    ];
    expect(logLines.length).toBeGreaterThan(10);
    const everything = [...logLines, ...seen].join('\n');
    for (const secret of secrets) expect(everything.includes(secret), 'a credential leaked').toBe(false);
  });
});
