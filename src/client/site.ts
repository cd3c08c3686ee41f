/** The site and who we are on it: XNAT's version, and the login this client acts as. */
import { xnatPath, type RequestContext } from './http.js';
import type { ServerInfo } from './models.js';
import { getBody } from './reads.js';
import { parseAuthUser, parseBuildInfo } from './rows.js';
import { awaitWithSignal } from './session.js';

export async function serverInfo(
  ctx: RequestContext,
  url: string,
  signal?: AbortSignal,
): Promise<ServerInfo> {
  const buildInfoPath = xnatPath('xapi', 'siteConfig', 'buildInfo');
  const authPath = xnatPath('data', 'auth');
  const [buildInfo, auth] = await Promise.all([
    getBody(ctx, { path: buildInfoPath, expect: 'json', signal }),
    getBody(ctx, { path: authPath, expect: 'text', signal }),
  ]);
  const info = parseBuildInfo(buildInfo, { method: 'GET', path: buildInfoPath });
  return { url, ...info, user: parseAuthUser(auth, { method: 'GET', path: authPath }) };
}

/** The login behind the session, asked once (an alias token resolves to its user); a failure is not kept. */
export class CurrentUser {
  private login: Promise<string> | undefined;

  constructor(private readonly ctx: RequestContext) {}

  async get(signal?: AbortSignal): Promise<string> {
    const path = xnatPath('data', 'auth');
    // Shared by concurrent callers, so no one caller's signal may cancel it: each only stops waiting.
    this.login ??= getBody(this.ctx, { path, expect: 'text' })
      .then((body) => parseAuthUser(body, { method: 'GET', path }))
      .catch((err: unknown) => {
        this.login = undefined;
        throw err;
      });
    return awaitWithSignal(this.login, signal, { method: 'GET', path });
  }
}
