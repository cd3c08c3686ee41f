/**
 * The one HTTP layer of the client core: an undici keep-alive pool, per-request timeouts,
 * cancellation, redirects, retries of idempotent requests, XNAT error-page parsing and mapping of
 * statuses onto the error hierarchy. It knows nothing about sessions (see session.ts).
 */
import { getEventListeners, getMaxListeners, setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Agent } from 'undici';
import { VERSION } from './version.js';
import {
  XnatBadRequestError,
  XnatCancelledError,
  XnatConfigError,
  XnatError,
  XnatNetworkError,
  XnatTimeoutError,
  errorClassForStatus,
} from './errors.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS';

/** Counters shared by the HTTP layer and the session (benchmarks and tests read them). */
export interface ClientStats {
  requests: number;
  logins: number;
  retries: number;
}

/** A query parameter; an array repeats the parameter once per value (`field=a&field=b`). */
export type QueryValue = string | number | boolean | undefined | readonly string[];

/** A streamed request body that can be sent again: every attempt (retry, re-login) opens a fresh stream. */
export interface StreamBody {
  open(): Readable;
  /** Bytes the stream yields (sent as Content-Length). */
  length: number;
}

export interface HttpRequest {
  method: HttpMethod;
  /** Path relative to the XNAT base URL, built with `xnatPath` (e.g. `/data/projects/P1`). */
  path: string;
  query?: Record<string, QueryValue>;
  headers?: Record<string, string>;
  body?: string | StreamBody;
  signal?: AbortSignal | undefined;
  /** `json`: a 2xx HTML page is flagged as XNAT's login page instead of being returned as data. */
  expect?: 'json' | 'text';
  /** Hand a 2xx body over as `stream` instead of reading it into memory (downloads). */
  streamResponse?: boolean;
  /** Statuses besides 2xx that mean success here (prearchive moves answer 301 with the new URI as body). */
  acceptStatuses?: readonly number[];
}

export interface HttpResponse {
  status: number;
  contentType: string;
  body: string;
  setCookies: string[];
  location?: string;
  /** XNAT's login page was served (a redirect to it, or HTML where JSON was expected). */
  loginPage: boolean;
  /** The unread 2xx body when `streamResponse` was asked for (`body` is then ''); the caller must consume or destroy it. */
  stream?: Readable;
}

/**
 * What the client's modules need of this layer: one authenticated request (XnatSession's, which
 * logs in and retries here). Each module takes this plus only the lookups it uses, never the client.
 */
export interface RequestContext {
  request(req: HttpRequest): Promise<HttpResponse>;
}

export interface HttpClientOptions {
  baseUrl: string;
  timeoutMs: number;
  stats: ClientStats;
  connections?: number;
  retries?: number;
  caFile?: string | undefined;
  insecure?: boolean | undefined;
  userAgent?: string | undefined;
  log?: ((line: string) => void) | undefined;
  /** First backoff delay; later attempts double it (plus jitter). */
  retryBaseMs?: number;
}

export const DEFAULT_USER_AGENT = `xnat-mcp/${VERSION} (node)`;
const MAX_REDIRECTS = 5;
const IDEMPOTENT = new Set<HttpMethod>(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
const RETRY_STATUSES = new Set([502, 503, 504]);
const RETRY_ERROR_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ECONNABORTED',
]);
const TIMEOUT_ERROR_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
]);
const TLS_ERROR_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/;
/** Server-side path prefixes that XNAT treats as API ("data") paths. */
const DATA_PATH = /^\/(data|REST|xapi|fs)(\/|$)/;

/** Longer segments are no XNAT ID, label or file name; servers answer such URLs with a bare 414/431. */
export const MAX_PATH_SEGMENT = 1024;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Builds a path from raw segments, encoding each one completely so an ID or label containing
 * `/`, `?`, `#`, `%`, spaces or non-ASCII text can never change the URL's structure.
 */
/** A path as request logs show it: an alias token's alias and secret never appear in a log line. */
function loggablePath(path: string): string {
  return path.replace(/(\/services\/tokens\/[^/]+)\/(?!user\/).*/, '$1/***');
}

export function xnatPath(...segments: string[]): string {
  return segments
    .map((segment) => {
      if (segment === '' || segment === '.' || segment === '..') {
        throw new XnatBadRequestError(
          `Invalid identifier "${segment}": IDs and labels must not be empty, "." or ".."`,
        );
      }
      if (segment.length > MAX_PATH_SEGMENT) {
        throw new XnatBadRequestError(
          `Invalid identifier "${segment.slice(0, 40)}…": ${segment.length} characters is too long for an XNAT ID, label or file name (at most ${MAX_PATH_SEGMENT})`,
        );
      }
      // encodeURIComponent throws a bare URIError on these: text that has no UTF-8 form.
      if (LONE_SURROGATE.test(segment)) {
        throw new XnatBadRequestError(
          'Invalid identifier: it contains an unpaired UTF-16 surrogate (broken Unicode); pass the ID or label as plain text',
        );
      }
      return `/${encodeURIComponent(segment)}`;
    })
    .join('');
}

export function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (Array.isArray(value)) for (const v of value as readonly string[]) params.append(key, v);
    else if (value !== undefined) params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code =
        name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

function stripTags(html: string): string {
  return decodeEntities(html.replace(/<[^>]*>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * XNAT's own message from an error body: a Restlet status page (`<h3>message</h3>`), a Tomcat error
 * report (`<p><b>Message</b> ...</p>` or its `<title>`), or a short plain-text body.
 */
export function extractXnatMessage(body: string): string | undefined {
  const text = body.trim();
  if (!text) return undefined;
  if (/^<(!doctype|html|\?xml)/i.test(text) || /<(h3|title|body)[\s>]/i.test(text)) {
    const h3 = /<h3[^>]*>([\s\S]*?)<\/h3>/i.exec(text)?.[1];
    if (h3 && stripTags(h3)) return stripTags(h3);
    const tomcatMessage = /<p>\s*<b>\s*(?:Message|Description)\s*<\/b>([\s\S]*?)<\/p>/i.exec(text)?.[1];
    if (tomcatMessage && stripTags(tomcatMessage)) return stripTags(tomcatMessage);
    const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(text)?.[1];
    if (title) {
      const cleaned = stripTags(title).replace(/^HTTP Status \d+\s*[–-]\s*/i, '');
      if (cleaned && !/^status page$/i.test(cleaned)) return cleaned;
    }
    return undefined;
  }
  const firstLine = text.split(/\r?\n/)[0]!.trim();
  return firstLine.length > 300 ? `${firstLine.slice(0, 297)}...` : firstLine;
}

function statusText(status: number): string {
  // node:http (loaded here only for its status texts) loads with the first error, not at start.
  return `${status} ${process.getBuiltinModule('node:http').STATUS_CODES[status] ?? 'Unknown status'}`;
}

/** Maps a non-2xx response onto the error hierarchy, with XNAT's own message when it gave one. */
export function errorForResponse(method: string, path: string, res: HttpResponse): XnatError {
  const xnatMessage = extractXnatMessage(res.body);
  const ErrorClass = errorClassForStatus(res.status);
  const message =
    res.status >= 300 && res.status < 400
      ? `XNAT answered ${statusText(res.status)} (a redirect that was not followed)`
      : `XNAT answered ${statusText(res.status)}${xnatMessage ? `: ${xnatMessage}` : ''}`;
  return new ErrorClass(message, { method, path, status: res.status, xnatMessage });
}

function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

/** A dropped connection: an idempotent request may safely be repeated. */
class ConnectionResetError extends XnatNetworkError {}

function cancelled(method: string, path: string): XnatCancelledError {
  return new XnatCancelledError('The request was cancelled', { method, path });
}

/**
 * Makes room for one more request's abort listeners on a caller's signal. One call fans out over
 * many requests sharing its signal (concurrent downloads, cohorts, copies, exports), each listening
 * only while in flight: many listeners are expected, not a leak, and Node's warning at 10 would mislead.
 */
export function makeRoomOnSignal(signal: AbortSignal | undefined): void {
  if (signal === undefined) return;
  const max = getMaxListeners(signal);
  if (max !== 0 && getEventListeners(signal, 'abort').length + 4 > max) setMaxListeners(max * 2, signal);
}

/** Resolves after `ms`, or rejects with XnatCancelledError when the signal aborts first. */
function sleep(ms: number, signal: AbortSignal | undefined, method: string, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled(method, path));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(cancelled(method, path));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function headerValues(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export class HttpClient {
  readonly baseUrl: string;
  private readonly origin: string;
  /** Context path of the deployment (`/xnat`), '' at the root. */
  private readonly contextPath: string;
  /** Created by the first request: undici loads only when the client is first used (fast startup). */
  private agent: Promise<Agent> | undefined;
  private readonly agentOptions: ConstructorParameters<typeof Agent>[0];
  private closed = false;
  private readonly options: HttpClientOptions;
  private readonly retries: number;

  constructor(options: HttpClientOptions) {
    this.options = options;
    const base = new URL(options.baseUrl);
    this.origin = base.origin;
    this.contextPath = base.pathname.replace(/\/+$/, '');
    this.baseUrl = `${this.origin}${this.contextPath}`;
    this.retries = options.retries ?? 3;
    let ca: Buffer | undefined;
    if (options.caFile) {
      try {
        ca = readFileSync(options.caFile);
      } catch (err) {
        throw new XnatConfigError(`Cannot read CA file ${options.caFile}: fix XNAT_CA_FILE`, { cause: err });
      }
    }
    if (options.insecure) {
      const warn = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
      warn(`warning: TLS certificate verification is disabled for ${this.baseUrl} (XNAT_INSECURE)`);
    }
    this.agentOptions = {
      connections: options.connections ?? 8,
      keepAliveTimeout: 30_000,
      connect: {
        ...(ca ? { ca } : {}),
        ...(options.insecure ? { rejectUnauthorized: false } : {}),
      },
    };
  }

  private dispatcher(): Promise<Agent> {
    this.agent ??= import('undici').then(({ Agent }) => {
      const agent = new Agent(this.agentOptions);
      // Closed before its first request: it answers as a closed pool would.
      if (this.closed) void agent.close();
      return agent;
    });
    return this.agent;
  }

  /**
   * Sends a request and returns the final response whatever its status (callers decide what an
   * error is), after following GET/HEAD redirects and retrying idempotent requests on 502/503/504
   * and connection resets. Throws only for network failures, timeouts and cancellation.
   */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const retries = IDEMPOTENT.has(req.method) ? this.retries : 0;
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.sendFollowingRedirects(req);
      } catch (err) {
        if (err instanceof ConnectionResetError && attempt < retries) {
          await this.backoff(attempt, req);
          continue;
        }
        throw err;
      }
      if (RETRY_STATUSES.has(res.status) && attempt < retries) {
        await this.backoff(attempt, req);
        continue;
      }
      return res;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await (await this.agent)?.close();
  }

  private async backoff(attempt: number, req: HttpRequest): Promise<void> {
    this.options.stats.retries++;
    const base = (this.options.retryBaseMs ?? 200) * 2 ** attempt;
    // Full jitter keeps many clients retrying after one XNAT restart from arriving together.
    await sleep(Math.min(base + Math.random() * base, 10_000), req.signal, req.method, req.path);
  }

  private async sendFollowingRedirects(req: HttpRequest): Promise<HttpResponse> {
    let url = new URL(`${this.contextPath}${req.path}${queryString(req.query)}`, this.origin);
    let headers = { ...req.headers };
    for (let hop = 0; ; hop++) {
      const res = await this.dispatch(req, url, headers);
      if (res.status < 300 || res.status >= 400 || res.location === undefined) return res;
      const target = new URL(res.location, url);
      if (DATA_PATH.test(req.path) && !this.isDataUrl(target)) {
        // XNAT sends unauthenticated (browser-like) callers of an API path to its login page.
        return { ...res, loginPage: true };
      }
      if ((req.method !== 'GET' && req.method !== 'HEAD') || hop >= MAX_REDIRECTS) return res;
      if (target.origin !== url.origin) {
        // Never hand the session cookie or Basic credentials to another origin.
        headers = Object.fromEntries(
          Object.entries(headers).filter(([name]) => !/^(cookie|authorization)$/i.test(name)),
        );
      }
      url = target;
    }
  }

  private isDataUrl(target: URL): boolean {
    // Another origin (e.g. an http → https upgrade) may have its own context path in front.
    if (target.origin !== this.origin) return /\/(data|REST|xapi|fs)(\/|$)/.test(target.pathname);
    const path = target.pathname.startsWith(this.contextPath)
      ? target.pathname.slice(this.contextPath.length)
      : target.pathname;
    return DATA_PATH.test(path);
  }

  private async dispatch(req: HttpRequest, url: URL, headers: Record<string, string>): Promise<HttpResponse> {
    const { method, signal } = req;
    const path = req.path;
    if (signal?.aborted) throw cancelled(method, path);
    makeRoomOnSignal(signal);
    const started = Date.now();
    this.options.stats.requests++;
    const bodyStream = typeof req.body === 'object' ? req.body.open() : undefined;
    const requestBody = bodyStream ?? (typeof req.body === 'string' ? req.body : undefined);
    try {
      const response = await (
        await this.dispatcher()
      ).request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method,
        headers: {
          'user-agent': this.options.userAgent ?? DEFAULT_USER_AGENT,
          accept: req.expect === 'json' ? 'application/json' : '*/*',
          ...headers,
          ...(typeof req.body === 'object' ? { 'content-length': String(req.body.length) } : {}),
        },
        ...(requestBody !== undefined ? { body: requestBody } : {}),
        signal,
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      });
      const streaming =
        req.streamResponse === true && response.statusCode >= 200 && response.statusCode < 300;
      const text = method === 'HEAD' || streaming ? '' : await response.body.text();
      const contentType = headerValues(response.headers['content-type'])[0] ?? '';
      const location = headerValues(response.headers.location)[0];
      const looksLikeHtml = /^\s*<(!doctype html|html)/i.test(text);
      this.options.log?.(`${method} ${loggablePath(path)} ${response.statusCode} ${Date.now() - started}ms`);
      return {
        status: response.statusCode,
        contentType,
        body: text,
        setCookies: headerValues(response.headers['set-cookie']),
        ...(location !== undefined ? { location } : {}),
        loginPage: req.expect === 'json' && response.statusCode < 300 && looksLikeHtml,
        ...(streaming ? { stream: response.body } : {}),
      };
    } catch (err) {
      this.options.log?.(`${method} ${loggablePath(path)} failed ${Date.now() - started}ms`);
      if (signal?.aborted) throw cancelled(method, path);
      const code = errorCode(err);
      if (code && TIMEOUT_ERROR_CODES.has(code)) {
        throw new XnatTimeoutError(
          `XNAT did not answer within ${this.options.timeoutMs} ms (raise XNAT_TIMEOUT_MS if this request is expected to be slow)`,
          { method, path, cause: err },
        );
      }
      if (code && TLS_ERROR_CODES.test(code)) {
        throw new XnatNetworkError(
          `TLS verification of ${this.origin} failed (${code}): set XNAT_CA_FILE to the CA certificate that signed XNAT's certificate`,
          { method, path, cause: err },
        );
      }
      const ErrorClass =
        code !== undefined && RETRY_ERROR_CODES.has(code) ? ConnectionResetError : XnatNetworkError;
      throw new ErrorClass(`Cannot reach XNAT at ${this.baseUrl} (${code ?? 'network error'})`, {
        method,
        path,
        cause: err,
      });
    } finally {
      // An early answer (401, 409) leaves the upload unread; its file must not stay open.
      bodyStream?.destroy();
    }
  }
}
