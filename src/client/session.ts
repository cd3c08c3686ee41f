/**
 * XNAT authentication as XNAT really works: log in once (`POST /data/JSESSION` with Basic auth), then
 * send only the JSESSIONID cookie. The session is kept alive while the client is in use, renewed
 * exactly once for all concurrent requests when XNAT drops it, and invalidated on close. Opening a
 * session per request would hit XNAT's per-user session cap.
 */
import {
  XnatAuthenticationError,
  XnatCancelledError,
  XnatError,
  XnatNetworkError,
  XnatProtocolError,
} from './errors.js';
import {
  errorForResponse,
  makeRoomOnSignal,
  type HttpClient,
  type HttpRequest,
  type HttpResponse,
  type ClientStats,
} from './http.js';

export interface SessionCredentials {
  user: string;
  password: string;
}

export interface SessionOptions {
  stats: ClientStats;
  log?: ((line: string) => void) | undefined;
}

const SESSION_ID = /^[A-Za-z0-9._~-]+$/;

function cookieValue(setCookies: string[], name: string): string | undefined {
  for (const header of setCookies) {
    const [pair] = header.split(';');
    const eq = pair?.indexOf('=') ?? -1;
    if (pair && eq > 0 && pair.slice(0, eq).trim() === name) {
      return pair
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, '');
    }
  }
  return undefined;
}

/** `SESSION_EXPIRATION_TIME="<startEpochMs>,<maxInactiveIntervalMs>"` → the interval in ms. */
export function parseSessionExpiration(
  value: string | undefined,
): { start: number; intervalMs: number } | undefined {
  const match = value ? /^"?(\d+),(\d+)"?$/.exec(value.trim()) : null;
  if (!match) return undefined;
  return { start: Number(match[1]), intervalMs: Number(match[2]) };
}

/** Awaits a shared promise without letting one caller's abort cancel it for the others. */
export function awaitWithSignal<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  req: { method: string; path: string },
): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void =>
      reject(new XnatCancelledError('The request was cancelled', { method: req.method, path: req.path }));
    if (signal.aborted) return onAbort();
    makeRoomOnSignal(signal);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

export class XnatSession {
  private sessionId: string | undefined;
  private loginInFlight: Promise<string> | undefined;
  /** Local instant after which XNAT will have dropped the session (from SESSION_EXPIRATION_TIME). */
  private expiresAt: number | undefined;
  private intervalMs: number | undefined;
  private lastUse = 0;
  private inFlight = 0;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly http: HttpClient,
    private readonly credentials: SessionCredentials,
    private readonly options: SessionOptions,
  ) {}

  /**
   * Sends an authenticated request and returns its 2xx response; any other outcome becomes an
   * XnatError. A request refused because the session expired is retried once after a re-login.
   */
  async request(req: HttpRequest): Promise<HttpResponse> {
    if (this.closed) {
      throw new XnatNetworkError('The XNAT client is closed', { method: req.method, path: req.path });
    }
    this.inFlight++;
    try {
      let sessionId = await awaitWithSignal(this.currentSession(), req.signal, req);
      let res = await this.sendWithSession(req, sessionId);
      if (res.status === 401 || res.loginPage) {
        sessionId = await awaitWithSignal(this.renew(sessionId), req.signal, req);
        res = await this.sendWithSession(req, sessionId);
        if (res.status === 401 || (res.loginPage && res.status >= 300)) {
          throw new XnatAuthenticationError(
            `XNAT refused the session of user ${this.credentials.user} right after logging in: check the account's access at ${this.http.baseUrl}`,
            { method: req.method, path: req.path, status: res.status },
          );
        }
        if (res.loginPage) {
          throw new XnatProtocolError('XNAT answered with an HTML page where JSON was expected', {
            method: req.method,
            path: req.path,
            status: res.status,
          });
        }
      }
      if ((res.status < 200 || res.status >= 300) && !req.acceptStatuses?.includes(res.status)) {
        throw errorForResponse(req.method, req.path, res);
      }
      return res;
    } finally {
      this.inFlight--;
      this.lastUse = Date.now();
    }
  }

  /** Ends the XNAT session (best effort) and stops the keep-alive timer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.keepAliveTimer);
    const sessionId = (await this.loginInFlight?.catch(() => undefined)) ?? this.sessionId;
    this.sessionId = undefined;
    if (sessionId === undefined) return;
    try {
      await this.http.send({
        method: 'DELETE',
        path: '/data/JSESSION',
        headers: { cookie: `JSESSIONID=${sessionId}` },
      });
    } catch (err) {
      this.options.log?.(`logout failed: ${err instanceof XnatError ? err.message : 'unknown error'}`);
    }
  }

  private async sendWithSession(req: HttpRequest, sessionId: string): Promise<HttpResponse> {
    const res = await this.http.send({
      ...req,
      headers: { ...req.headers, cookie: `JSESSIONID=${sessionId}` },
    });
    if (res.status !== 401 && !res.loginPage) this.absorbCookies(res, sessionId);
    return res;
  }

  /** The session's idle timeout and when it ends if unused, as XNAT last announced them; undefined before that. */
  expiry(): { idleTimeoutSeconds: number; expiresAt: string } | undefined {
    if (this.sessionId === undefined || this.expiresAt === undefined || this.intervalMs === undefined) {
      return undefined;
    }
    return {
      idleTimeoutSeconds: Math.round(this.intervalMs / 1000),
      expiresAt: new Date(this.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
  }

  /** The session to use now: log in first when there is none or it has (almost) expired. */
  private currentSession(): Promise<string> {
    if (this.sessionId !== undefined && !this.isExpiring()) return Promise.resolve(this.sessionId);
    return this.renew(this.sessionId);
  }

  private isExpiring(): boolean {
    if (this.expiresAt === undefined || this.intervalMs === undefined) return false;
    return Date.now() >= this.expiresAt - this.marginMs();
  }

  /** Time kept in hand before expiry to cover clock drift and latency. */
  private marginMs(): number {
    return Math.min(30_000, (this.intervalMs ?? 0) / 10);
  }

  /**
   * Single-flight re-login: however many requests saw the same stale session, only the first starts
   * a login and the others wait for it; a request that saw an older session reuses the new one.
   */
  private renew(staleSessionId: string | undefined): Promise<string> {
    if (this.sessionId !== undefined && this.sessionId !== staleSessionId && !this.isExpiring()) {
      return Promise.resolve(this.sessionId);
    }
    this.loginInFlight ??= this.login().finally(() => {
      this.loginInFlight = undefined;
    });
    return this.loginInFlight;
  }

  private async login(): Promise<string> {
    const { user, password } = this.credentials;
    this.options.stats.logins++;
    const req: HttpRequest = {
      method: 'POST',
      path: '/data/JSESSION',
      headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}` },
      expect: 'text',
    };
    const res = await this.http.send(req);
    if (res.status === 401 || res.status === 403 || res.loginPage) {
      throw new XnatAuthenticationError(
        `XNAT rejected the credentials for user ${user} at ${this.http.baseUrl}: check XNAT_USER/XNAT_PASSWORD`,
        { method: req.method, path: req.path, status: res.status },
      );
    }
    if (res.status < 200 || res.status >= 300) throw errorForResponse(req.method, req.path, res);
    const body = res.body.trim();
    const sessionId = cookieValue(res.setCookies, 'JSESSIONID') ?? (SESSION_ID.test(body) ? body : undefined);
    if (sessionId === undefined) {
      throw new XnatProtocolError(
        'XNAT accepted the login but returned no session id (no JSESSIONID cookie)',
        {
          method: req.method,
          path: req.path,
          status: res.status,
        },
      );
    }
    this.sessionId = sessionId;
    this.expiresAt = undefined;
    this.absorbCookies(res, sessionId);
    return sessionId;
  }

  /** Follows session-id rotation and the expiry XNAT announces on every response. */
  private absorbCookies(res: HttpResponse, usedSessionId: string): void {
    const rotated = cookieValue(res.setCookies, 'JSESSIONID');
    if (rotated && this.sessionId === usedSessionId) this.sessionId = rotated;
    const expiration = parseSessionExpiration(cookieValue(res.setCookies, 'SESSION_EXPIRATION_TIME'));
    if (!expiration) return;
    // Measured on our clock from now, not from XNAT's start stamp: the two clocks may disagree.
    this.intervalMs = expiration.intervalMs;
    this.expiresAt = Date.now() + expiration.intervalMs;
    this.scheduleKeepAlive();
  }

  /**
   * While the client is in use (requests in flight or made within the last two intervals), touch
   * the session shortly before it would expire, so long jobs with pauses keep their session.
   */
  private scheduleKeepAlive(): void {
    clearTimeout(this.keepAliveTimer);
    if (this.closed || this.expiresAt === undefined || this.intervalMs === undefined) return;
    const delay = Math.max(0, this.expiresAt - this.marginMs() * 2 - Date.now());
    this.keepAliveTimer = setTimeout(() => void this.keepAlive(), delay);
    this.keepAliveTimer.unref();
  }

  private async keepAlive(): Promise<void> {
    const sessionId = this.sessionId;
    const interval = this.intervalMs ?? 0;
    if (this.closed || sessionId === undefined || this.loginInFlight) return;
    if (this.inFlight === 0 && Date.now() - this.lastUse > 2 * interval) return;
    try {
      const res = await this.http.send({
        method: 'GET',
        path: '/data/auth',
        headers: { cookie: `JSESSIONID=${sessionId}` },
        expect: 'text',
      });
      if (res.status === 401 || res.loginPage) {
        this.expiresAt = 0; // the next request logs in again
      } else {
        this.absorbCookies(res, sessionId);
      }
    } catch (err) {
      this.options.log?.(
        `session keep-alive failed: ${err instanceof XnatError ? err.message : 'unknown error'}`,
      );
    }
  }
}
