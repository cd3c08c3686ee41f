/**
 * What a sandbox handler returns and what it is given: one reply shape for every route, so the
 * server adds cookies, logging and error pages in one place.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { SessionStore, Session } from './auth.js';
import type { ContainerService } from './containers/service.js';
import type { SandboxHooks } from './hooks.js';
import type { SandboxArchive, SandboxUser } from './model.js';
import type { ArchiveStorage } from './storage.js';

export interface Reply {
  status: number;
  headers: Record<string, string>;
  /** A stream is piped (large files); set its Content-Length header when known. */
  body: string | Buffer | Readable;
}

export interface SandboxStats {
  requests: number;
  logins: number;
  sessionsCreated: number;
}

/** A cached search table (`POST /data/search?cache=true`), kept per creating user like XNAT's materialized views. */
export interface CachedSearch {
  login: string;
  columns: Array<Record<string, string>>;
  rows: Array<Record<string, string>>;
  rootElementName: string;
}

/** Everything a running sandbox shares between requests. */
export interface SandboxState {
  archive: SandboxArchive;
  contextPath: string;
  version: string;
  startedAt: number;
  sessions: SessionStore;
  stats: SandboxStats;
  searches: Map<string, CachedSearch>;
  nextSearchId: number;
  /** The archive directory on disk (uploaded and imported files). */
  storage: ArchiveStorage;
  /** Test tooling's taps (none outside tests). */
  hooks: SandboxHooks;
  /** The container service: commands, enabled wrappers, launched containers and their workflows. */
  containers: ContainerService;
  /** The user anonymous requests act as when guest access is on (`requireLogin=false`). */
  guest: SandboxUser | undefined;
  /** The site preference `restrictUserListAccessToAdmins`. */
  restrictUserList: boolean;
}

export interface RequestContext {
  /** `HEAD` reaches GET handlers as itself: a streamed body need not be opened for it. */
  method: string;
  /** Decoded path segments after the API prefix (`/data`, `/REST`, `/data/archive` or `/xapi`). */
  segments: string[];
  /** Whether the request path ended with `/` (file folder listings). */
  trailingSlash: boolean;
  params: Record<string, string>;
  /** Segments matched by a trailing `{name+}` pattern segment. */
  rest: string[];
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: () => Promise<Buffer>;
  /** The request body as a stream, for uploads; use either this or `body()`, not both. */
  bodyStream: () => Readable;
  state: SandboxState;
  session: Session | undefined;
  user: SandboxUser | undefined;
  /** Opens an HTTP session for a form login (the server then sets its cookie); undefined when the user is at the cap. */
  startSession: (user: SandboxUser) => Session | undefined;
}

export interface AuthedContext extends RequestContext {
  user: SandboxUser;
}

export function textReply(status: number, body: string, contentType = 'text/plain;charset=UTF-8'): Reply {
  return { status, headers: { 'Content-Type': contentType }, body };
}

export function jsonReply(value: unknown, status = 200): Reply {
  return {
    status,
    headers: { 'Content-Type': 'application/json;charset=UTF-8' },
    body: JSON.stringify(value),
  };
}

export function emptyReply(status = 200): Reply {
  return { status, headers: {}, body: '' };
}
