/**
 * Team mode's per-session XNAT identity. Each MCP session starts signed out; the connect page signs
 * it in with the user's own XNAT credentials, which are used once to issue an alias token for this
 * session and then dropped. The session keeps only that token (in memory, inside its XnatClient),
 * and revokes it and logs out of XNAT when the MCP session ends.
 */
import {
  XnatAuthenticationError,
  XnatClient,
  XnatConfigError,
  XnatError,
  type AliasToken,
  type XnatClientOptions,
} from '../../client/index.js';
import type { Logger } from '../../mcp/logger.js';

/** How every user's client reaches XNAT: the operator's URL and TLS settings, never credentials. */
export type TeamXnatSettings = Omit<XnatClientOptions, 'user' | 'password'>;

export class SignInRefusedError extends Error {}

/**
 * Checks the credentials by logging in with them once and trading them for an alias token of the
 * same login. The password (or the user's own alias token) is not kept anywhere after this returns.
 */
export async function signIn(
  xnat: TeamXnatSettings,
  user: string,
  password: string,
): Promise<{ client: XnatClient; token: AliasToken; login: string }> {
  const once = new XnatClient({ ...xnat, user, password, connections: 1, retries: 0 });
  let token: AliasToken;
  let login: string;
  try {
    token = await once.issueAliasToken();
    login = await once.currentUser();
  } catch (err) {
    // XNAT's answer is not repeated: its message names what was typed as the user.
    if (err instanceof XnatAuthenticationError) {
      throw new SignInRefusedError('XNAT did not accept this user name and password (or alias token)');
    }
    throw err;
  } finally {
    await once.close().catch(() => undefined);
  }
  return { client: new XnatClient({ ...xnat, user: token.alias, password: token.secret }), token, login };
}

export class TeamSession {
  client: XnatClient | undefined;
  login: string | undefined;
  private alias: string | undefined;
  private closed = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly xnatUrl: string,
    private readonly log: Logger,
  ) {}

  get signedIn(): boolean {
    return this.client !== undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Takes the identity signed in on the connect page; a session closed meanwhile revokes it at once. */
  async adopt(identity: { client: XnatClient; token: AliasToken; login: string }): Promise<void> {
    if (this.closed || this.client !== undefined) {
      await revoke(identity.client, identity.token.alias, this.log);
      return;
    }
    this.client = identity.client;
    this.alias = identity.token.alias;
    this.login = identity.login;
    this.log.info(`MCP session signed in to XNAT as ${identity.login}`);
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** Resolves true once signed in, false when `until` passes, the signal aborts or the session closes. */
  waitForSignIn(until: number, signal?: AbortSignal): Promise<boolean> {
    if (this.signedIn) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (result: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        signal?.removeEventListener('abort', stop);
        resolve(result);
      };
      const wake = (): void => done(this.signedIn);
      const stop = (): void => done(false);
      const timer = setTimeout(stop, Math.max(0, until - Date.now()));
      timer.unref();
      signal?.addEventListener('abort', stop, { once: true });
      this.waiters.add(wake);
    });
  }

  /**
   * XNAT stopped accepting the session's token (revoked, expired, user disabled): the session is
   * signed out, so that its next call asks the user to sign in again.
   */
  signOut(): void {
    const { client } = this;
    if (client === undefined) return;
    this.client = undefined;
    this.alias = undefined;
    this.log.info(
      `MCP session signed out: XNAT no longer accepts the sign-in of ${this.login ?? 'its user'}`,
    );
    void client.close().catch(() => undefined);
  }

  /** Revokes the session's alias token and logs out of XNAT (best effort, once). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
    const { client, alias } = this;
    this.client = undefined;
    this.alias = undefined;
    if (client !== undefined && alias !== undefined) await revoke(client, alias, this.log);
  }
}

async function revoke(client: XnatClient, alias: string, log: Logger): Promise<void> {
  try {
    await client.invalidateAliasToken(alias);
  } catch (err) {
    // The message may carry the request path, which names the token: say only what kind of failure.
    log.warning(
      `Could not revoke a signed-out session's XNAT alias token (${err instanceof XnatError ? err.name : 'unknown error'}); it expires on its own`,
    );
  }
  await client.close().catch(() => undefined);
}

/**
 * The session's XnatClient as the server factory sees it: every use goes to the client of whoever
 * signed in. The gate (gate.ts) lets no request that needs XNAT through before that.
 */
export function sessionClient(session: TeamSession): XnatClient {
  return new Proxy(Object.create(XnatClient.prototype) as XnatClient, {
    get(_target, property) {
      const client = session.client;
      if (client === undefined) {
        if (property === 'url') return session.xnatUrl;
        if (property === 'then') return undefined;
        throw new XnatAuthenticationError('Not signed in to XNAT: sign in first');
      }
      const value: unknown = Reflect.get(client, property, client);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(client, args);
        return result instanceof Promise ? result.catch((err: unknown) => signedOutOn(err, session)) : result;
      };
    },
  });
}

/**
 * An authentication failure after sign-in signs the session out. XNAT's message (naming the token)
 * is not passed on; a configuration error, because the session's configuration (its sign-in) is
 * what must be redone, and its message is what the user reads.
 */
function signedOutOn(err: unknown, session: TeamSession): never {
  if (!(err instanceof XnatAuthenticationError) || !session.signedIn) throw err;
  session.signOut();
  throw new XnatConfigError(
    "XNAT no longer accepts this session's sign-in (its token was revoked or expired, or the account changed): repeat the call to sign in again",
  );
}
