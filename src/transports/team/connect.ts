/**
 * The connect page (`/connect/<link id>`): where a team-mode user signs in to XNAT, in their own
 * browser, so that credentials never pass through the model or the MCP client. A link is bound to one
 * MCP session, works once, expires quickly and allows a few attempts; its form carries a CSRF token
 * that must also come back as a cookie scoped to the link's path.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { XnatError } from '../../client/errors.js';
import type { Logger } from '../../mcp/logger.js';
import { SignInRefusedError, signIn, type TeamSession, type TeamXnatSettings } from './session.js';

export const CONNECT_PATH = '/connect/';
/** How long a sign-in link works; default 10 minutes. */
export const DEFAULT_LINK_TTL_MS = 10 * 60 * 1000;
/** Wrong passwords a link takes before it is withdrawn. */
const MAX_ATTEMPTS = 5;
const MAX_FORM_BYTES = 16 * 1024;
const CSRF_COOKIE = 'xnat_mcp_csrf';

export interface ConnectLink {
  id: string;
  session: TeamSession;
  elicitationId: string;
  csrf: string;
  expiresAt: number;
  attempts: number;
  /** Who asked, shown on the page so the user can tell it is their own assistant. */
  clientName: string;
  /** Called once the session is signed in (the elicitation completion notification). */
  onSignedIn?: () => void;
}

export interface ConnectOptions {
  xnat: TeamXnatSettings;
  log: Logger;
  linkTtlMs: number;
  /** Prefix of link IDs (the instance ID behind a load balancer), so the page reaches the right process. */
  idPrefix: string;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function same(a: string | undefined, b: string): boolean {
  return a !== undefined && timingSafeEqual(digest(a), digest(b));
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function page(res: ServerResponse, status: number, title: string, body: string, headers = {}): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // The link in the address bar must not travel to other sites, and no site may frame the form.
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    ...headers,
  });
  res.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
      '<meta name="viewport" content="width=device-width, initial-scale=1">' +
      '<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}' +
      'label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}' +
      'button{margin-top:1rem;padding:.5rem 1.2rem}.error{color:#a00}</style></head>' +
      `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
  );
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(buf);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export class ConnectPages {
  private readonly links = new Map<string, ConnectLink>();

  constructor(private readonly options: ConnectOptions) {}

  get size(): number {
    return this.links.size;
  }

  get linkTtlMs(): number {
    return this.options.linkTtlMs;
  }

  /** A fresh link for the session (any earlier one of the session is withdrawn). */
  create(session: TeamSession, clientName: string): ConnectLink {
    this.sweep();
    this.withdraw(session);
    const link: ConnectLink = {
      id: `${this.options.idPrefix}${randomBytes(24).toString('base64url')}`,
      session,
      elicitationId: randomBytes(16).toString('hex'),
      csrf: randomBytes(24).toString('base64url'),
      expiresAt: Date.now() + this.options.linkTtlMs,
      attempts: 0,
      clientName,
    };
    this.links.set(link.id, link);
    return link;
  }

  /** The session's live link, if any. */
  current(session: TeamSession): ConnectLink | undefined {
    for (const link of this.links.values()) {
      if (link.session === session && link.expiresAt > Date.now()) return link;
    }
    return undefined;
  }

  withdraw(session: TeamSession): void {
    for (const [id, link] of this.links) if (link.session === session) this.links.delete(id);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, link] of this.links)
      if (link.expiresAt <= now || link.session.isClosed) this.links.delete(id);
  }

  private live(id: string): ConnectLink | undefined {
    const link = this.links.get(id);
    if (link === undefined) return undefined;
    if (link.expiresAt <= Date.now() || link.session.isClosed || link.session.signedIn) {
      this.links.delete(id);
      return undefined;
    }
    return link;
  }

  /** GET or POST of `/connect/<id>`. */
  async handle(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const link = this.live(id);
    if (link === undefined) {
      page(
        res,
        410,
        'This sign-in link no longer works',
        '<p>Sign-in links work once and only for a few minutes. Go back to your assistant and repeat the request: it will give you a new link.</p>',
      );
      return;
    }
    if (req.method === 'GET') {
      this.form(res, link);
      return;
    }
    if (req.method !== 'POST') {
      page(res, 405, 'Method not allowed', '<p>Open the link in your browser.</p>', { allow: 'GET, POST' });
      return;
    }
    const form = await readForm(req);
    if (
      form === undefined ||
      !same(form.get('csrf') ?? undefined, link.csrf) ||
      !same(cookie(req, CSRF_COOKIE), link.csrf)
    ) {
      this.options.log.warning("Connect page: a sign-in without the form's CSRF token was refused");
      page(
        res,
        403,
        'Sign-in refused',
        '<p>This request did not come from the sign-in form. Open the link from your assistant again and sign in there.</p>',
      );
      return;
    }
    await this.submit(res, link, form.get('username') ?? '', form.get('password') ?? '');
  }

  private form(res: ServerResponse, link: ConnectLink, error?: string): void {
    const minutes = Math.max(1, Math.round((link.expiresAt - Date.now()) / 60_000));
    page(
      res,
      error === undefined ? 200 : 401,
      'Sign in to XNAT',
      `<p>Your assistant (${escapeHtml(link.clientName)}) asked to work in XNAT at <b>${escapeHtml(link.session.xnatUrl)}</b> as you. ` +
        'Sign in only if you started this yourself just now: whoever holds that assistant session will act with your XNAT permissions until it ends.</p>' +
        (error === undefined ? '' : `<p class="error">${escapeHtml(error)}</p>`) +
        `<form method="post" action="${CONNECT_PATH}${escapeHtml(link.id)}">` +
        `<input type="hidden" name="csrf" value="${escapeHtml(link.csrf)}">` +
        '<label for="username">XNAT user name, or alias token</label>' +
        '<input id="username" name="username" autocomplete="username" required>' +
        '<label for="password">Password, or the alias token\'s secret</label>' +
        '<input id="password" name="password" type="password" autocomplete="current-password" required>' +
        '<button type="submit">Sign in</button></form>' +
        `<p>This link works once, for about ${minutes} more minute${minutes === 1 ? '' : 's'}. The server keeps neither your password nor your token: it uses them once to obtain an alias token for this session alone, and revokes that token when the session ends.</p>`,
      {
        'set-cookie': `${CSRF_COOKIE}=${link.csrf}; Path=${CONNECT_PATH}${link.id}; HttpOnly; SameSite=Strict; Max-Age=${Math.ceil(this.options.linkTtlMs / 1000)}`,
      },
    );
  }

  private async submit(
    res: ServerResponse,
    link: ConnectLink,
    user: string,
    password: string,
  ): Promise<void> {
    if (user.trim() === '' || password === '') {
      this.form(res, link, 'Enter a user name and a password (or an alias token and its secret).');
      return;
    }
    try {
      const identity = await signIn(this.options.xnat, user.trim(), password);
      this.links.delete(link.id);
      await link.session.adopt(identity);
    } catch (err) {
      if (err instanceof SignInRefusedError) {
        link.attempts++;
        this.options.log.info(
          `Connect page: XNAT refused a sign-in (attempt ${link.attempts} of ${MAX_ATTEMPTS})`,
        );
        if (link.attempts >= MAX_ATTEMPTS) {
          this.links.delete(link.id);
          page(
            res,
            401,
            'Sign-in refused',
            '<p>Too many attempts: this link no longer works. Repeat the request in your assistant for a new one.</p>',
          );
          return;
        }
        this.form(res, link, `${err.message}. Try again.`);
        return;
      }
      this.options.log.warning(
        `Connect page: signing in to XNAT failed (${err instanceof XnatError ? err.name : 'unknown error'})`,
      );
      page(
        res,
        502,
        'XNAT could not be reached',
        `<p>Signing in to ${escapeHtml(link.session.xnatUrl)} failed. Try the link again in a moment.</p>`,
      );
      return;
    }
    link.onSignedIn?.();
    page(
      res,
      200,
      'Signed in',
      `<p>Your assistant now works in XNAT as <b>${escapeHtml(link.session.login ?? '')}</b>. You can close this tab and go back to it.</p>`,
    );
  }
}
