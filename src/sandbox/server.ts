/**
 * The sandbox's HTTP server (node:http only): context path, URL spaces (`/data` ≡ `/REST` ≡
 * `/data/archive`, `/xapi`, web pages), XNAT's authentication chain, routing, error pages in the
 * style of the layer that would produce them, cookies and request statistics.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  SessionStore,
  checkCredentials,
  findUser,
  isInteractiveAgent,
  parseBasic,
  parseCookies,
  type Session,
} from './auth.js';
import { SandboxHttpError } from './errors.js';
import { ContainerService, DEFAULT_TIMINGS, type ContainerTimings } from './containers/service.js';
import { ConnectionCut, type SandboxHooks } from './hooks.js';
import type { SandboxArchive, SandboxUser } from './model.js';
import { restletErrorPage, tomcatErrorPage, xapiErrorPage } from './pages.js';
import type { AuthedContext, Reply, RequestContext, SandboxState, SandboxStats } from './reply.js';
import type { Router } from './router.js';
import { dataRoutes, webRoutes, xapiRoutes } from './routes.js';
import { ArchiveStorage } from './storage.js';

export interface SandboxOptions {
  /** Default: the demo archive (`createDemoArchive()` from seed.ts). */
  archive?: SandboxArchive;
  host?: string;
  port?: number;
  /** `''` or e.g. `/xnat`: XNAT deployed under a path. */
  contextPath?: string;
  /** Idle timeout of JSESSIONs (default 900 s). */
  sessionTimeoutSeconds?: number;
  /** XNAT's concurrentMaxSessions with maxSessionsPreventsLogin (default 1000). */
  maxSessionsPerUser?: number;
  /** Reported by /xapi/siteConfig/buildInfo (default 1.8.10.1). */
  version?: string;
  /**
   * XNAT's `requireLogin=false` (public servers such as XNAT central and NITRC IR): a request
   * without credentials acts as the `guest` user, who reads public projects. Default false: 401.
   */
  guestAccess?: boolean;
  /**
   * XNAT's `restrictUserListAccessToAdmins` site preference (default false, as in XNAT): when on,
   * only site admins may list the site's users (`/data/users`, `/xapi/users`).
   */
  restrictUserList?: boolean;
  /** Request log, one line per request, never with credentials. */
  log?: (line: string) => void;
  /**
   * Where uploaded and imported files are written: a fresh folder is made inside it at start and
   * removed on close (default: the OS temp directory).
   */
  archiveDir?: string;
  /** How long container launches stay queued, created and running (default: a few seconds in all). */
  containerTimings?: Partial<ContainerTimings>;
}

export interface RunningSandbox {
  /** Base URL including the context path, without a trailing slash. */
  url: string;
  port: number;
  archive: SandboxArchive;
  stats: SandboxStats;
  /** Invalidate every JSESSION now. */
  expireSessions(): void;
  /** Installs test tooling's hooks (fault injection: see the testing entry), replacing any before. */
  setHooks(hooks: SandboxHooks): void;
  /** The folder holding uploaded and imported files (removed on close). */
  archiveDir: string;
  close(): Promise<void>;
}

type Space = 'data' | 'xapi' | 'web';

const ROUTERS: Record<Space, Router> = { data: dataRoutes, xapi: xapiRoutes, web: webRoutes };

function normaliseContextPath(path: string | undefined): string {
  const trimmed = (path ?? '').replace(/\/+$/, '');
  return trimmed === '' ? '' : trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function errorReply(space: Space, status: number, message: string | undefined, contextPath: string): Reply {
  if (space === 'data') return restletErrorPage(status, message, contextPath);
  if (space === 'xapi') return xapiErrorPage(status, message ?? '');
  return tomcatErrorPage(status, message);
}

/** Paths that must not reach a log as written: token secrets travel in the URL path. */
function loggablePath(path: string): string {
  return path.replace(/(\/services\/tokens\/validate\/[^/]+)\/[^/?]+/, '$1/***');
}

function readBody(req: IncomingMessage): () => Promise<Buffer> {
  let pending: Promise<Buffer> | undefined;
  return () => {
    pending ??= new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
    return pending;
  };
}

interface Identity {
  session: Session | undefined;
  user: SandboxUser | undefined;
  newSession: boolean;
  /** Credentials were sent and rejected (or the user is at the session cap): Spring answers 401 at once. */
  rejected: boolean;
}

/**
 * Spring Security's view of the caller: Basic credentials (user password or alias token) create a
 * session unless the cookie's session already belongs to that username; otherwise the JSESSIONID cookie.
 */
function identify(req: IncomingMessage, state: SandboxState, now: number): Identity {
  let cookieSession: Session | undefined;
  for (const [name, value] of parseCookies(req.headers.cookie)) {
    if (name !== 'JSESSIONID') continue;
    cookieSession = state.sessions.use(value, now);
    if (cookieSession) break;
  }
  const basic = parseBasic(req.headers.authorization);
  const identity: Identity = { session: undefined, user: undefined, newSession: false, rejected: false };
  if (basic && !(cookieSession && cookieSession.login === basic.username)) {
    const user = checkCredentials(state.archive, basic.username, basic.password, now);
    const session = user ? state.sessions.create(user.login, now) : undefined;
    if (!user || !session) return { ...identity, rejected: true };
    state.stats.logins++;
    state.stats.sessionsCreated++;
    return { session, user, newSession: true, rejected: false };
  }
  if (cookieSession) {
    const user = findUser(state.archive, cookieSession.login);
    if (user?.enabled) return { ...identity, session: cookieSession, user };
  }
  return identity;
}

function unauthenticated(req: IncomingMessage, space: Space, state: SandboxState): Reply {
  if (space === 'web' || isInteractiveAgent(req.headers['user-agent'])) {
    const host = req.headers.host ?? 'localhost';
    return {
      status: 302,
      headers: { Location: `http://${host}${state.contextPath}/app/template/Login.vm` },
      body: '',
    };
  }
  const reply = tomcatErrorPage(401);
  reply.headers['WWW-Authenticate'] = `Basic realm="${state.archive.siteId}"`;
  return reply;
}

interface Handled {
  reply: Reply;
  identity: Identity;
  /** An unexpected handler failure, for the request log only. */
  failure?: unknown;
}

async function handle(req: IncomingMessage, state: SandboxState): Promise<Handled> {
  const now = Date.now();
  const rawUrl = req.url ?? '/';
  const queryStart = rawUrl.indexOf('?');
  const rawPath = queryStart < 0 ? rawUrl : rawUrl.slice(0, queryStart);
  const query = new URLSearchParams(queryStart < 0 ? '' : rawUrl.slice(queryStart + 1));
  const anonymous: Identity = { session: undefined, user: undefined, newSession: false, rejected: false };

  const { contextPath } = state;
  if (contextPath !== '' && rawPath !== contextPath && !rawPath.startsWith(`${contextPath}/`)) {
    return { reply: tomcatErrorPage(404), identity: anonymous };
  }
  const rawSegments = rawPath.slice(contextPath.length).split('/').slice(1);
  const trailingSlash = rawSegments.length > 1 && rawSegments[rawSegments.length - 1] === '';
  let segments = rawSegments.filter((s) => s !== '');
  let space: Space = 'web';
  if (segments[0] === 'data' || segments[0] === 'REST') {
    space = 'data';
    segments = segments.slice(1);
    if (segments[0] === 'archive' && segments.length > 1) segments = segments.slice(1);
  } else if (segments[0] === 'xapi') {
    space = 'xapi';
    segments = segments.slice(1);
  }
  try {
    // XNAT reads /data path attributes with URLDecoder, which also turns '+' into a space.
    segments = segments.map((s) => decodeURIComponent(space === 'data' ? s.replaceAll('+', ' ') : s));
  } catch {
    return { reply: tomcatErrorPage(400, 'Invalid URI: malformed percent-encoding'), identity: anonymous };
  }

  const identity = identify(req, state, now);
  const method = req.method ?? 'GET';
  // HEAD is served by the GET route: same status and headers (the server sends no body).
  const found = ROUTERS[space].match(method === 'HEAD' ? 'GET' : method, segments);
  const open = found.kind === 'found' && found.match.route.open === true;
  if (!identity.user && !identity.rejected && state.guest) identity.user = state.guest;
  if (identity.rejected || (!identity.user && !open)) {
    return { reply: unauthenticated(req, space, state), identity };
  }
  if (found.kind === 'none') {
    return {
      reply: space === 'data' ? restletErrorPage(404, undefined, contextPath) : tomcatErrorPage(404),
      identity,
    };
  }
  if (found.kind === 'method') {
    const reply = errorReply(space, 405, undefined, contextPath);
    reply.headers.Allow = found.allowed.join(', ');
    return { reply, identity };
  }

  const ctx: RequestContext = {
    method,
    segments,
    trailingSlash,
    params: found.match.params,
    rest: found.match.rest,
    query,
    headers: req.headers,
    body: readBody(req),
    bodyStream: () => req,
    state,
    session: identity.session,
    user: identity.user,
    startSession: (user) => {
      const session = state.sessions.create(user.login, Date.now());
      if (!session) return undefined;
      state.stats.logins++;
      state.stats.sessionsCreated++;
      Object.assign(identity, { session, user, newSession: true });
      return session;
    },
  };
  try {
    const { route } = found.match;
    const reply = route.open ? await route.handler(ctx) : await route.handler(ctx as AuthedContext);
    return { reply, identity };
  } catch (error) {
    if (error instanceof SandboxHttpError) {
      return { reply: errorReply(space, error.status, error.message, contextPath), identity };
    }
    // Never a stack trace on the wire; the message goes to the request log only.
    return { reply: errorReply(space, 500, 'Internal Server Error', contextPath), identity, failure: error };
  }
}

function send(res: ServerResponse, reply: Reply, cookies: string[]): void {
  const headers: Record<string, string | string[]> = { ...reply.headers };
  if (cookies.length > 0) headers['Set-Cookie'] = cookies;
  if (reply.body instanceof Readable) {
    res.writeHead(reply.status, headers);
    // A broken stream (or a client gone away) must not leave a response that looks complete.
    pipeline(reply.body, res).catch(() => res.destroy());
    return;
  }
  const body = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
  headers['Content-Length'] ??= String(body.length);
  res.writeHead(reply.status, headers);
  res.end(body);
}

/** XNAT's `guest` account (an xdat_user without a password or roles): what anonymous callers are. */
function guestUser(archive: SandboxArchive): SandboxUser {
  return {
    xdatUserId: Math.max(0, ...archive.users.map((u) => u.xdatUserId)) + 1,
    login: 'guest',
    password: '',
    firstname: 'Guest',
    lastname: 'User',
    email: '',
    admin: false,
    enabled: true,
  };
}

export async function startSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  const archive = options.archive ?? (await import('./seed.js')).createDemoArchive();
  const contextPath = normaliseContextPath(options.contextPath);
  const timeoutMs = (options.sessionTimeoutSeconds ?? 900) * 1000;
  const sessions = new SessionStore(timeoutMs, options.maxSessionsPerUser ?? 1000);
  archive.prearchive ??= [];
  const state: SandboxState = {
    archive,
    contextPath,
    version: options.version ?? '1.8.10.1',
    startedAt: Date.now(),
    sessions,
    stats: { requests: 0, logins: 0, sessionsCreated: 0 },
    searches: new Map(),
    nextSearchId: 1,
    storage: await ArchiveStorage.create(options.archiveDir),
    hooks: {},
    guest: options.guestAccess ? guestUser(archive) : undefined,
    restrictUserList: options.restrictUserList ?? false,
    containers: new ContainerService(archive, { ...DEFAULT_TIMINGS, ...options.containerTimings }),
  };
  const log = options.log;

  const server = createServer((req, res) => {
    state.stats.requests++;
    // Held here: a request destroyed by a failed upload stream no longer points at its socket.
    const { socket } = req;
    handle(req, state)
      .then(async (handled) => {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        const verdict = await state.hooks.beforeReply?.({ method: req.method ?? 'GET', path });
        if (verdict !== 'drop') return handled;
        return { ...handled, failure: new ConnectionCut('sandbox fault injection: applied, reply dropped') };
      })
      .then(({ reply, identity, failure }) => {
        if (failure instanceof ConnectionCut) {
          if (reply.body instanceof Readable) reply.body.destroy();
          log?.(
            `${req.method ?? 'GET'} ${loggablePath((req.url ?? '/').split('?')[0] ?? '/')} dropped (${failure.message})`,
          );
          socket.destroy();
          return;
        }
        const cookies: string[] = [];
        if (identity.newSession && identity.session) {
          cookies.push(`JSESSIONID=${identity.session.id}; Path=${contextPath}/; HttpOnly`);
        }
        if (identity.user && !identity.rejected) {
          cookies.push(`SESSION_EXPIRATION_TIME="${Date.now()},${timeoutMs}"; Path=${contextPath}/`);
        }
        send(res, reply, cookies);
        const line = `${req.method ?? 'GET'} ${loggablePath((req.url ?? '/').split('?')[0] ?? '/')} ${reply.status}`;
        log?.(failure instanceof Error ? `${line} (${failure.message})` : line);
        req.resume();
      })
      .catch((error: unknown) => {
        log?.(
          `${req.method ?? 'GET'} internal error: ${error instanceof Error ? error.message : String(error)}`,
        );
        if (!res.headersSent) send(res, errorReply('web', 500, undefined, contextPath), []);
      });
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}${contextPath}`,
    port,
    archive,
    stats: state.stats,
    expireSessions: () => state.sessions.clear(),
    setHooks: (hooks) => {
      state.hooks = hooks;
    },
    archiveDir: state.storage.dir,
    close: async () => {
      state.containers.close();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      await state.storage.close();
    },
  };
}
