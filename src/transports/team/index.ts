/**
 * Team mode (`--team`, HTTP only): every MCP session acts as its own XNAT user, signed in on the
 * connect page (connect.ts) through URL-mode elicitation (gate.ts). The operator configures only
 * XNAT's URL; no credential passes through the model, the MCP client or the MCP bearer token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { XnatClient } from '../../client/index.js';
import type { Logger } from '../../mcp/logger.js';
import { CONNECT_PATH, ConnectPages, DEFAULT_LINK_TTL_MS } from './connect.js';
import { gateUntilSignedIn } from './gate.js';
import { TeamSession, sessionClient, type TeamXnatSettings } from './session.js';

export { CONNECT_PATH, DEFAULT_LINK_TTL_MS } from './connect.js';
export type { TeamXnatSettings } from './session.js';

export interface TeamOptions {
  /** XNAT's URL and TLS settings, shared by every user's client. */
  xnat: TeamXnatSettings;
  /** This server's address as browsers reach it (`https://mcp.example.org`), for sign-in links; default `http://` + the request's Host. */
  publicUrl?: string;
  /** How long a sign-in link works (ms); default 10 minutes. */
  linkTtlMs?: number;
}

/** How long stopping waits for signed-out sessions to revoke their tokens. */
const CLOSE_GRACE_MS = 2000;

export class TeamMode {
  private readonly pages: ConnectPages;
  private readonly closing = new Set<Promise<void>>();
  private readonly publicUrl: string | undefined;

  constructor(
    private readonly options: TeamOptions,
    private readonly log: Logger,
    idPrefix: string,
  ) {
    this.pages = new ConnectPages({
      xnat: options.xnat,
      log,
      linkTtlMs: options.linkTtlMs ?? DEFAULT_LINK_TTL_MS,
      idPrefix,
    });
    this.publicUrl = options.publicUrl?.replace(/\/+$/, '');
  }

  /** A signed-out session and the client its server is built with (usable once signed in). */
  openSession(): { session: TeamSession; client: XnatClient } {
    const session = new TeamSession(this.options.xnat.url, this.log);
    return { session, client: sessionClient(session) };
  }

  /** Puts the gate in front of a session's server, once the server is connected to its transport. */
  gate(session: TeamSession, server: Server, transport: Transport): void {
    gateUntilSignedIn(session, server, transport, {
      pages: this.pages,
      log: this.log,
      baseUrl: (host) => this.publicUrl ?? `http://${host ?? '127.0.0.1'}`,
    });
  }

  /** The MCP session ended: its link goes, its token is revoked and its XNAT session logged out. */
  endSession(session: TeamSession): void {
    this.pages.withdraw(session);
    const closing = session.close().finally(() => this.closing.delete(closing));
    this.closing.add(closing);
  }

  handleConnect(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    return this.pages.handle(req, res, path.slice(CONNECT_PATH.length));
  }

  /** Sign-in links not used yet (for the health endpoint). */
  get pendingLinks(): number {
    return this.pages.size;
  }

  /** Waits (bounded) for ended sessions to finish revoking their tokens. */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)));
    await Promise.race([Promise.allSettled([...this.closing]), late]);
    clearTimeout(timer);
  }
}
