/**
 * XNAT's authentication as its Spring Security chain applies it: Basic credentials (a user's
 * password or an alias token) create an HTTP session, the JSESSIONID cookie reuses it, sessions
 * expire when idle and are capped per user (concurrentMaxSessions with maxSessionsPreventsLogin).
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AliasToken, SandboxArchive, SandboxUser } from './model.js';

export interface Session {
  id: string;
  login: string;
  created: number;
  lastAccess: number;
  csrf: string;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly timeoutMs: number,
    private readonly maxPerUser: number,
  ) {}

  get timeoutMillis(): number {
    return this.timeoutMs;
  }

  /** The live session with this id, touched; an idle-expired one is dropped (Tomcat's behaviour). */
  use(id: string, now: number): Session | undefined {
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (now - session.lastAccess > this.timeoutMs) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastAccess = now;
    return session;
  }

  /** A new session, or undefined when the user already holds the maximum number of live sessions. */
  create(login: string, now: number): Session | undefined {
    let live = 0;
    for (const [id, session] of this.sessions) {
      if (now - session.lastAccess > this.timeoutMs) this.sessions.delete(id);
      else if (session.login === login) live++;
    }
    if (live >= this.maxPerUser) return undefined;
    // Tomcat session ids: 32 upper-case hex digits.
    const session = {
      id: randomBytes(16).toString('hex').toUpperCase(),
      login,
      created: now,
      lastAccess: now,
      csrf: randomUUID(),
    };
    this.sessions.set(session.id, session);
    return session;
  }

  invalidate(id: string): void {
    this.sessions.delete(id);
  }

  /** The sessions not yet idle-expired (Spring's session registry, as `/xapi/users/active` reads it). */
  live(now: number): Session[] {
    return [...this.sessions.values()].filter((s) => now - s.lastAccess <= this.timeoutMs);
  }

  clear(): void {
    this.sessions.clear();
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  if (!header) return undefined;
  const match = /^Basic\s+(.+)$/i.exec(header.trim());
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function findUser(archive: SandboxArchive, login: string): SandboxUser | undefined {
  return archive.users.find((u) => u.login === login);
}

/** A live alias token: enabled and not past its estimated expiration. */
function liveToken(archive: SandboxArchive, alias: string, now: number): AliasToken | undefined {
  const token = archive.tokens.find((t) => t.alias === alias);
  return token && token.enabled && token.estimatedExpirationTime > now ? token : undefined;
}

/** Checks a username/password pair the way XNAT's providers do: the user database first, then alias tokens. */
export function checkCredentials(
  archive: SandboxArchive,
  username: string,
  password: string,
  now: number,
): SandboxUser | undefined {
  const user = findUser(archive, username);
  if (user) return user.enabled && sameSecret(password, user.password) ? user : undefined;
  const token = liveToken(archive, username, now);
  if (!token || !sameSecret(password, token.secret)) return undefined;
  const owner = findUser(archive, token.login);
  if (!owner?.enabled) return undefined;
  if (token.singleUse) token.enabled = false;
  return owner;
}

/** `DefaultInteractiveAgentDetector`: browsers get a login redirect instead of a 401. */
export function isInteractiveAgent(userAgent: string | undefined): boolean {
  if (!userAgent || userAgent.includes('XNATDesktopClient')) return false;
  return /MSIE|Mozilla|AppleWebKit|Opera/.test(userAgent);
}

export function parseCookies(header: string | undefined): Array<[string, string]> {
  if (!header) return [];
  return header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.includes('='))
    .map((part) => {
      const eq = part.indexOf('=');
      return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    });
}

/** A fresh alias token for `login`, with XNAT's default two-day lifetime. */
export function issueToken(archive: SandboxArchive, login: string, now: number): AliasToken {
  const token: AliasToken = {
    id: archive.tokens.reduce((max, t) => Math.max(max, t.id), 0) + 1,
    alias: randomUUID(),
    secret: randomBytes(48).toString('base64url').slice(0, 64),
    login,
    created: now,
    estimatedExpirationTime: now + 2 * 86_400_000,
    enabled: true,
    singleUse: false,
  };
  archive.tokens.push(token);
  return token;
}

/** The token's JSON as XNAT's Jackson serialization of `AliasToken` writes it. */
export function tokenJson(token: AliasToken): Record<string, unknown> {
  return {
    alias: token.alias,
    secret: token.secret,
    singleUse: token.singleUse,
    estimatedExpirationTime: token.estimatedExpirationTime,
    xdatUserId: token.login,
    validIPAddresses: [],
    enabled: token.enabled,
    created: token.created,
    timestamp: token.created,
    disabled: 0,
    id: token.id,
  };
}
