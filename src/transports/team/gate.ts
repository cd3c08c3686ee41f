/**
 * Team mode's gate in front of a session's MCP server: until the session has signed in to XNAT,
 * requests that need XNAT are answered here. A tool call asks the user (URL-mode elicitation) to open
 * the connect page, waits for the sign-in and then runs as the user; a client without URL elicitation
 * gets an error that names the page. Listings answer empty, reads name the page.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  isJSONRPCRequest,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../../mcp/logger.js';
import { CONNECT_PATH, type ConnectLink, type ConnectPages } from './connect.js';
import type { TeamSession } from './session.js';

const URL_ELICITATION_REQUIRED = -32042;
/** While a call waits for the sign-in, progress this often keeps clients that reset their timeout on it. */
const PROGRESS_EVERY_MS = 15_000;

export interface GateOptions {
  pages: ConnectPages;
  log: Logger;
  /** Where the browser reaches this server (`http://host:port`), from the request or the operator. */
  baseUrl(requestHost: string | undefined): string;
}

type Deliver = NonNullable<Transport['onmessage']>;
type Extra = Parameters<Deliver>[1];

function signInText(url: string, minutes: number): string {
  return `Not signed in to XNAT: on this server every user works in XNAT as themselves. Ask the user to open ${url} in their browser and sign in there (the link works once, for ${minutes} minutes; never ask for their password in the chat), then repeat the call.`;
}

export function gateUntilSignedIn(
  session: TeamSession,
  server: Server,
  transport: Transport,
  options: GateOptions,
): void {
  const deliver = transport.onmessage;
  if (deliver === undefined) throw new Error('connect the server to the transport before gating it');
  const gate = new SignInGate(session, server, transport, options, deliver);
  transport.onmessage = (message, extra) => {
    if (session.signedIn || !isJSONRPCRequest(message) || !NEEDS_XNAT.has(message.method)) {
      deliver(message, extra);
      return;
    }
    gate.hold(message, extra).catch((err: unknown) => {
      options.log.error(`Team gate failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  };
}

class SignInGate {
  /** The elicitation of the current link, shared by every call waiting on it. */
  private consent: { link: ConnectLink; accepted: Promise<boolean> } | undefined;
  private readonly minutes: number;

  constructor(
    private readonly session: TeamSession,
    private readonly server: Server,
    private readonly transport: Transport,
    private readonly options: GateOptions,
    private readonly deliver: Deliver,
  ) {
    this.minutes = Math.round(options.pages.linkTtlMs / 60_000);
  }

  /** Answers a request that needs XNAT in a signed-out session. */
  async hold(request: JSONRPCRequest, extra: Extra): Promise<void> {
    switch (request.method) {
      case 'tools/call':
        await this.callTool(request, extra);
        return;
      case 'resources/list':
        this.reply(request.id, { resources: [] });
        return;
      case 'completion/complete':
        this.reply(request.id, { completion: { values: [], hasMore: false } });
        return;
      default: {
        const { link, url } = this.linkFor(extra);
        const text = signInText(url, this.minutes);
        if (this.canOpenUrls()) {
          this.fail(request.id, URL_ELICITATION_REQUIRED, text, {
            elicitations: [
              {
                mode: 'url',
                elicitationId: link.elicitationId,
                url,
                message: 'Sign in to XNAT in your browser.',
              },
            ],
          });
        } else {
          this.fail(request.id, ErrorCode.InvalidRequest, text);
        }
      }
    }
  }

  private async callTool(request: JSONRPCRequest, extra: Extra): Promise<void> {
    const { link, url } = this.linkFor(extra);
    if (!this.canOpenUrls()) {
      this.reply(request.id, {
        isError: true,
        content: [{ type: 'text', text: signInText(url, this.minutes) }],
      });
      return;
    }
    const accepted = await this.askToOpen(link, url, request.id);
    if (accepted && (await this.waitForSignIn(link, request))) {
      this.deliver(request, extra);
      return;
    }
    const why = accepted ? 'The sign-in link expired before anyone signed in.' : 'The sign-in was declined.';
    this.reply(request.id, {
      isError: true,
      content: [{ type: 'text', text: `${why} ${signInText(url, this.minutes)}` }],
    });
  }

  /** Waits for the sign-in, with progress now and then for clients that reset their timeout on it. */
  private async waitForSignIn(link: ConnectLink, request: JSONRPCRequest): Promise<boolean> {
    const token = request.params?._meta?.progressToken;
    let step = 0;
    const ticker =
      token === undefined
        ? undefined
        : setInterval(() => {
            void this.server
              .notification(
                {
                  method: 'notifications/progress',
                  params: {
                    progressToken: token,
                    progress: ++step,
                    message: 'Waiting for the sign-in to XNAT in the browser',
                  },
                },
                { relatedRequestId: request.id },
              )
              .catch(() => undefined);
          }, PROGRESS_EVERY_MS);
    try {
      return await this.session.waitForSignIn(link.expiresAt);
    } finally {
      clearInterval(ticker);
    }
  }

  /** One elicitation per link, however many calls wait on it. */
  private askToOpen(link: ConnectLink, url: string, relatedRequestId: RequestId): Promise<boolean> {
    if (this.consent?.link === link) return this.consent.accepted;
    const { server } = this;
    link.onSignedIn = () => {
      // On the waiting call's stream; if that call is gone, on the session's own stream.
      server
        .createElicitationCompletionNotifier(link.elicitationId, { relatedRequestId })()
        .catch(() => server.createElicitationCompletionNotifier(link.elicitationId)())
        .catch(() => undefined);
      void server.sendResourceListChanged().catch(() => undefined);
    };
    const accepted = server
      .elicitInput(
        {
          mode: 'url',
          elicitationId: link.elicitationId,
          url,
          message: `Sign in to XNAT (${this.session.xnatUrl}) in your browser, so that this session works as you.`,
        },
        { relatedRequestId, timeout: Math.max(1000, link.expiresAt - Date.now()) },
      )
      .then((result) => result.action === 'accept')
      .catch(() => false);
    const asked = { link, accepted };
    // A user who declined (or did not answer) is asked again by the next call.
    void accepted.then((yes) => {
      if (!yes && this.consent === asked) this.consent = undefined;
    });
    this.consent = asked;
    return accepted;
  }

  private linkFor(extra: Extra): { link: ConnectLink; url: string } {
    const host = extra?.requestInfo?.headers.host;
    const link =
      this.options.pages.current(this.session) ??
      this.options.pages.create(this.session, this.server.getClientVersion()?.name ?? 'an MCP client');
    return {
      link,
      url: `${this.options.baseUrl(Array.isArray(host) ? host[0] : host)}${CONNECT_PATH}${link.id}`,
    };
  }

  private canOpenUrls(): boolean {
    return this.server.getClientCapabilities()?.elicitation?.url !== undefined;
  }

  /** The request's stream may be gone (the client gave up waiting): then there is nothing to answer. */
  private send(message: JSONRPCMessage): void {
    this.transport.send(message).catch(() => undefined);
  }

  private reply(id: RequestId, result: Record<string, unknown>): void {
    this.send({ jsonrpc: '2.0', id, result });
  }

  private fail(id: RequestId, code: number, message: string, data?: unknown): void {
    this.send({ jsonrpc: '2.0', id, error: { code, message, ...(data === undefined ? {} : { data }) } });
  }
}

/** Requests that reach XNAT; everything else (initialize, tools/list, ping...) needs no sign-in. */
const NEEDS_XNAT = new Set(['tools/call', 'resources/read', 'resources/list', 'completion/complete']);
