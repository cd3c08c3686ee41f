/**
 * Streamable HTTP at `/mcp` on node:http, with stateful sessions (one McpServer per MCP session,
 * all from the same factory and sharing one XnatClient, or in team mode each with its own user's).
 * Guards, in order: Host and Origin must name this machine (DNS-rebinding protection), then the
 * optional bearer token (not asked of the browser on team mode's connect page). Binding beyond
 * loopback requires the token. Behind a load balancer each process has an instance ID that starts
 * every session ID it issues, so the balancer can route a session's requests to it (deploy/).
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname as machineHostname, networkInterfaces } from 'node:os';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { XnatClient } from '../client/client.js';
import { XnatConfigError } from '../client/errors.js';
import { silentLogger, type Logger } from '../mcp/logger.js';
import { createServer, parseToolsets, type ServerDeps, type ServerOptions } from '../server.js';
import { CONNECT_PATH, TeamMode, type TeamOptions } from './team/index.js';
import type { TeamSession } from './team/session.js';

export const DEFAULT_HTTP_HOST = '127.0.0.1';
export const DEFAULT_HTTP_PORT = 3333;
export const MCP_PATH = '/mcp';
/** Same bound as the SDK's own transports: larger bodies are refused with 413. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Sessions a client abandoned without DELETE are closed after this much silence (no call in progress). */
export const DEFAULT_SESSION_IDLE_SECONDS = 30 * 60;
/** Open sessions at most; each holds an McpServer (~100 KiB), so an unbounded number is a leak. */
export const DEFAULT_MAX_SESSIONS = 100;
/** How long a closed GET stream has to come back (a client resuming) before its session is closed. */
const DEFAULT_STREAM_GRACE_MS = 10_000;

export interface HttpOptions {
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** Port; default 3333, 0 picks a free one. */
  port?: number;
  /** Bearer token clients must send (`XNAT_MCP_HTTP_TOKEN`); required off loopback. */
  token?: string;
  /** Extra host names accepted in Host/Origin (e.g. a reverse proxy's name). */
  allowedHosts?: string[];
  /** Idle sessions are closed after this long (`--session-idle`); default 30 minutes. */
  sessionIdleMs?: number;
  /** Sessions open at once (`--max-sessions`); an initialize beyond it gets 503. Default 100. */
  maxSessions?: number;
  /** How long a client has to reopen its closed GET stream before its session is closed; default 10 s. */
  streamGraceMs?: number;
  /** Team mode: each session signs in to XNAT as its own user (`--team`); deps.client is then unused. */
  team?: TeamOptions;
  /** This process's name behind a load balancer (`--instance-id`): session IDs start with `<id>.`. */
  instanceId?: string;
}

export interface RunningHttpServer {
  /** The MCP endpoint, e.g. `http://127.0.0.1:3333/mcp`. */
  url: string;
  host: string;
  port: number;
  /** Number of open MCP sessions. */
  sessionCount(): number;
  /** Number of open standalone GET (SSE) streams. */
  streamCount(): number;
  /** Number of team-mode sign-in links not used yet (0 outside team mode). */
  pendingLinks(): number;
  close(): Promise<void>;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1', '[::1]'];

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return LOOPBACK_NAMES.includes(h) || /^127(\.\d{1,3}){3}$/.test(h) || h.endsWith('.localhost');
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** Names a browser may legitimately use for this server in Host and Origin. */
function acceptedHostNames(bindHost: string, extra: readonly string[]): Set<string> {
  const names = new Set([...LOOPBACK_NAMES, ...extra.map((h) => h.toLowerCase())]);
  const add = (h: string) => {
    const lower = h.toLowerCase();
    names.add(lower);
    if (lower.includes(':') && !lower.startsWith('[')) names.add(`[${lower}]`);
  };
  if (isWildcard(bindHost)) {
    // Bound to every interface: this machine's own names and addresses are legitimate.
    add(machineHostname());
    for (const list of Object.values(networkInterfaces())) for (const info of list ?? []) add(info.address);
  } else {
    add(bindHost);
  }
  return names;
}

function hostnameOf(value: string, asOrigin: boolean): string | undefined {
  try {
    return new URL(asOrigin ? value : `http://${value}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

function sendJsonRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant-time comparison (hashing first makes the lengths equal). */
function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

class BodyTooLargeError extends Error {}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  lastSeen: number;
  /**
   * POSTs in progress: a session serving a long call (a 2 GiB upload) is not idle. A GET stream does
   * not count, so the streams of clients that vanished without closing them are still reclaimed.
   */
  open: number;
  /** Standalone GET streams open now; when the last one closes and none comes back, the client left. */
  streams: number;
}

/** Hands a POST to its session's transport, keeping the session busy until the response ends. */
async function serveInSession(
  session: Session,
  req: IncomingMessage,
  res: ServerResponse,
  body?: unknown,
): Promise<void> {
  session.open++;
  res.once('close', () => {
    session.open--;
    session.lastSeen = Date.now();
  });
  await session.transport.handleRequest(req, res, body);
}

interface Guards {
  /** Host and Origin must name this machine (DNS rebinding). */
  origin(req: IncomingMessage, res: ServerResponse): boolean;
  /** The bearer token, if one is set. */
  token(req: IncomingMessage, res: ServerResponse): boolean;
}

function requestGuards(allowedNames: ReadonlySet<string>, token: string | undefined): Guards {
  return {
    origin(req, res) {
      const hostHeader = req.headers.host;
      const hostName = hostHeader === undefined ? undefined : hostnameOf(hostHeader, false);
      if (hostName === undefined || !allowedNames.has(hostName)) {
        sendJsonRpcError(res, 403, -32000, `Forbidden: Host '${hostHeader ?? ''}' is not allowed`);
        return false;
      }
      const origin = req.headers.origin;
      if (origin !== undefined) {
        const originName = hostnameOf(origin, true);
        if (originName === undefined || !allowedNames.has(originName)) {
          sendJsonRpcError(res, 403, -32000, `Forbidden: Origin '${origin}' is not allowed`);
          return false;
        }
      }
      return true;
    },
    token(req, res) {
      if (token === undefined) return true;
      const header = req.headers.authorization ?? '';
      const match = /^Bearer\s+(.+)$/i.exec(header);
      if (match?.[1] !== undefined && tokenMatches(match[1].trim(), token)) return true;
      const challenge =
        match === null ? 'Bearer realm="xnat-mcp"' : 'Bearer realm="xnat-mcp", error="invalid_token"';
      sendJsonRpcError(res, 401, -32001, 'Unauthorized: send "Authorization: Bearer <XNAT_MCP_HTTP_TOKEN>"', {
        'www-authenticate': challenge,
      });
      return false;
    },
  };
}

/** The server factory's inputs; the shared client is absent in team mode, where each session has its own. */
export type HttpDeps = Omit<ServerDeps, 'client'> & { client?: XnatClient | undefined };

/** What the MCP endpoint serves from: the factory's inputs, the open sessions and their limits. */
interface Endpoint {
  deps: HttpDeps;
  serverOptions: ServerOptions;
  sessions: Map<string, Session>;
  log: Logger;
  maxSessions: number;
  streamGraceMs: number;
  /** Initializations under way, counted against maxSessions before their session exists. */
  pending: number;
  /** Starts every session ID (`<instance>.`), or empty. */
  idPrefix: string;
  team: TeamMode | undefined;
  closeSession(id: string): Promise<void>;
}

/**
 * A GET stream: the server-to-client channel. A client that closes its transport without DELETE
 * (most do) only drops this stream; if no stream comes back and nothing else arrives within the
 * grace time, the session is closed instead of waiting out the idle time.
 */
async function serveStream(
  endpoint: Endpoint,
  id: string,
  session: Session,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  session.streams++;
  res.once('close', () => {
    session.streams--;
    session.lastSeen = Date.now();
    if (session.streams > 0) return;
    const closedAt = session.lastSeen;
    setTimeout(() => {
      const quiet = session.streams === 0 && session.open === 0 && session.lastSeen <= closedAt;
      if (quiet && endpoint.sessions.get(id) === session) {
        endpoint.log.debug('MCP session closed: its client closed the stream and did not come back');
        void endpoint.closeSession(id);
      }
    }, endpoint.streamGraceMs).unref();
  });
  await session.transport.handleRequest(req, res);
}

/** A POST: a call in an open session, or an initialize that opens a new one. */
async function handlePost(
  endpoint: Endpoint,
  req: IncomingMessage,
  res: ServerResponse,
  sessionId: string | undefined,
): Promise<void> {
  const { sessions, log } = endpoint;
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch (err) {
    if (err instanceof BodyTooLargeError) sendJsonRpcError(res, 413, -32600, 'Request body too large');
    else sendJsonRpcError(res, 400, -32700, 'Parse error: the body is not valid JSON');
    return;
  }
  if (sessionId !== undefined) {
    const session = sessions.get(sessionId);
    if (session === undefined) {
      sendJsonRpcError(res, 404, -32001, 'Session not found; initialize a new session');
      return;
    }
    await serveInSession(session, req, res, body);
    return;
  }
  if (!isInitializeRequest(body)) {
    sendJsonRpcError(
      res,
      400,
      -32000,
      'Bad Request: no valid Mcp-Session-Id; start with an initialize request',
    );
    return;
  }
  if (sessions.size + endpoint.pending >= endpoint.maxSessions) {
    log.warning(`MCP session refused: at the limit of ${endpoint.maxSessions} open sessions`);
    sendJsonRpcError(
      res,
      503,
      -32000,
      `Server is at its session limit (${endpoint.maxSessions} open sessions): end a session you no longer use (HTTP DELETE with its Mcp-Session-Id) or retry later.`,
      { 'retry-after': '30' },
    );
    return;
  }
  endpoint.pending++;
  try {
    await openSession(endpoint, req, res, body);
  } finally {
    endpoint.pending--;
  }
}

async function openSession(
  endpoint: Endpoint,
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
): Promise<void> {
  const { sessions, log, team } = endpoint;
  let identity: TeamSession | undefined;
  let client = endpoint.deps.client;
  if (team !== undefined) {
    const opened = team.openSession();
    identity = opened.session;
    client = opened.client;
  }
  // startHttpServer checked that there is a shared client when there is no team mode.
  const server = await createServer({ ...endpoint.deps, client: client! }, endpoint.serverOptions);
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => `${endpoint.idPrefix}${randomUUID()}`,
    onsessioninitialized: (id) => {
      sessions.set(id, { transport, server, lastSeen: Date.now(), open: 0, streams: 0 });
      log.debug(`MCP session opened (${sessions.size} open)`);
    },
  });
  transport.onclose = () => {
    if (identity !== undefined) team?.endSession(identity);
    const id = transport.sessionId;
    if (id !== undefined && sessions.delete(id)) {
      log.debug(`MCP session closed (${sessions.size} open)`);
      void server.close().catch(() => undefined);
    }
  };
  await server.connect(transport);
  if (identity !== undefined) team?.gate(identity, server.server, transport);
  await transport.handleRequest(req, res, body);
}

/** A request to the MCP endpoint: POST (calls, initialize), GET (the SSE stream), DELETE (end of session). */
async function handleMcp(endpoint: Endpoint, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const header = req.headers['mcp-session-id'];
  const sessionId = Array.isArray(header) ? header[0] : header;
  if (req.method === 'POST') {
    await handlePost(endpoint, req, res, sessionId);
    return;
  }
  if (req.method === 'GET' || req.method === 'DELETE') {
    if (sessionId === undefined) {
      sendJsonRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      return;
    }
    const session = endpoint.sessions.get(sessionId);
    if (session === undefined) {
      sendJsonRpcError(res, 404, -32001, 'Session not found; initialize a new session');
      return;
    }
    session.lastSeen = Date.now();
    if (req.method === 'GET') await serveStream(endpoint, sessionId, session, req, res);
    else await session.transport.handleRequest(req, res);
    return;
  }
  sendJsonRpcError(res, 405, -32000, 'Method not allowed', { allow: 'GET, POST, DELETE' });
}

/** `/healthz`: liveness, this process's instance and load, for a balancer or an operator. */
function sendHealth(
  req: IncomingMessage,
  res: ServerResponse,
  endpoint: Endpoint,
  instanceId: string | undefined,
): void {
  // Leak checks: a process started with node --expose-gc collects garbage first when asked.
  if (/[?&]gc=1(&|$)/.test(req.url ?? '')) (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(
    JSON.stringify({
      status: 'ok',
      ...(instanceId === undefined ? {} : { instance: instanceId }),
      sessions: endpoint.sessions.size,
      ...(endpoint.team === undefined ? {} : { signInLinks: endpoint.team.pendingLinks }),
      memory: { rss: memory.rss, heapUsed: memory.heapUsed },
    }),
  );
}

/** The instance ID as the session-ID prefix (`a.`), or empty; a bad ID stops the server. */
function sessionIdPrefix(instanceId: string | undefined): string {
  if (instanceId === undefined) return '';
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(instanceId)) {
    throw new XnatConfigError(
      `The instance ID must be 1 to 32 letters, digits, '-' or '_' (got '${instanceId}'): it starts every session ID, for a load balancer to route on`,
    );
  }
  return `${instanceId}.`;
}

export async function startHttpServer(
  deps: HttpDeps,
  serverOptions: ServerOptions,
  options: HttpOptions = {},
): Promise<RunningHttpServer> {
  const host = options.host ?? DEFAULT_HTTP_HOST;
  const token = options.token === '' ? undefined : options.token;
  const log = deps.log ?? silentLogger;
  if (!isLoopbackHost(host) && token === undefined) {
    throw new XnatConfigError(
      `Refusing to serve MCP on ${host} without a token: set XNAT_MCP_HTTP_TOKEN (clients then send "Authorization: Bearer <token>"), or bind to 127.0.0.1`,
    );
  }
  // Fail at startup, not on the first initialize, if the toolsets are wrong.
  if (serverOptions.toolsets !== undefined) parseToolsets(serverOptions.toolsets);
  const instanceId = options.instanceId === '' ? undefined : options.instanceId;
  const idPrefix = sessionIdPrefix(instanceId);
  const team = options.team === undefined ? undefined : new TeamMode(options.team, log, idPrefix);
  if (team === undefined && deps.client === undefined) {
    throw new XnatConfigError('The HTTP server needs an XNAT client, or team mode (each session signs in)');
  }

  const guards = requestGuards(acceptedHostNames(host, options.allowedHosts ?? []), token);
  const sessions = new Map<string, Session>();
  const idleMs = options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_SECONDS * 1000;

  const closeSession = async (id: string): Promise<void> => {
    const session = sessions.get(id);
    if (session === undefined) return;
    sessions.delete(id);
    await session.transport.close().catch(() => undefined);
    await session.server.close().catch(() => undefined);
  };
  const endpoint: Endpoint = {
    deps,
    serverOptions,
    sessions,
    log,
    maxSessions: options.maxSessions ?? DEFAULT_MAX_SESSIONS,
    streamGraceMs: options.streamGraceMs ?? DEFAULT_STREAM_GRACE_MS,
    pending: 0,
    idPrefix,
    team,
    closeSession,
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!guards.origin(req, res)) return;
    // The browser signing in has no MCP token: the one-time link and its CSRF token guard the page.
    if (team !== undefined && path.startsWith(CONNECT_PATH)) {
      await team.handleConnect(req, res, path);
      return;
    }
    if (!guards.token(req, res)) return;
    if (path === '/healthz' && req.method === 'GET') {
      sendHealth(req, res, endpoint, instanceId);
      return;
    }
    if (path !== MCP_PATH) {
      sendJsonRpcError(res, 404, -32000, `Not found: the MCP endpoint is ${MCP_PATH}`);
      return;
    }
    await handleMcp(endpoint, req, res);
  };

  const http = createHttpServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error(`HTTP request failed: ${err instanceof Error ? err.message : String(err)}`);
      sendJsonRpcError(res, 500, -32603, 'Internal server error');
    });
  });

  const sweeper = setInterval(
    () => {
      const cutoff = Date.now() - idleMs;
      for (const [id, session] of sessions) {
        if (session.open === 0 && session.lastSeen < cutoff) void closeSession(id);
      }
    },
    Math.min(idleMs, 60_000),
  );
  sweeper.unref();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? DEFAULT_HTTP_PORT, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const urlHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  const url = `http://${isWildcard(host) ? '127.0.0.1' : urlHost}:${address.port}${MCP_PATH}`;
  log.info(
    `MCP server listening on ${url}${token === undefined ? '' : ' (bearer token required)'}${team === undefined ? '' : ' in team mode (each session signs in to XNAT as its user)'}${instanceId === undefined ? '' : ` as instance ${instanceId}`}`,
  );

  return {
    url,
    host,
    port: address.port,
    sessionCount: () => sessions.size,
    streamCount: () => [...sessions.values()].reduce((sum, s) => sum + s.streams, 0),
    pendingLinks: () => team?.pendingLinks ?? 0,
    async close() {
      clearInterval(sweeper);
      await Promise.all([...sessions.keys()].map(closeSession));
      await team?.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        // Open SSE streams would otherwise keep close() waiting.
        http.closeAllConnections();
      });
    },
  };
}
