/** The site and who we are on it: XNAT's version and build, uptime, plugins, and the login this client acts as. */
import { ADMINISTRATOR_ROLE, userRoles } from './access.js';
import { XnatError } from './errors.js';
import { xnatPath, type RequestContext } from './http.js';
import type { ServerInfo } from './models.js';
import { getBody } from './reads.js';
import { parseAuthUser, parseBuildInfo, parsePlugins, parseUptime } from './rows-site.js';
import { awaitWithSignal } from './session.js';

/** A detail XNAT may withhold (older versions, site policy): left out rather than failing the whole answer. */
async function optional<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof XnatError && err.kind !== 'cancelled') return undefined;
    throw err;
  }
}

async function readJson<T>(
  ctx: RequestContext,
  segments: string[],
  parse: (body: string, edge: { method: string; path: string }) => T,
  signal: AbortSignal | undefined,
): Promise<T> {
  const path = xnatPath(...segments);
  return parse(await getBody(ctx, { path, expect: 'json', signal }), { method: 'GET', path });
}

export async function serverInfo(
  ctx: RequestContext,
  url: string,
  session: () => ServerInfo['session'],
  signal?: AbortSignal,
): Promise<ServerInfo> {
  const authPath = xnatPath('data', 'auth');
  const [build, user, uptimeSeconds, plugins] = await Promise.all([
    readJson(ctx, ['xapi', 'siteConfig', 'buildInfo'], parseBuildInfo, signal),
    getBody(ctx, { path: authPath, expect: 'text', signal }).then((body) =>
      parseAuthUser(body, { method: 'GET', path: authPath }),
    ),
    optional(() => readJson(ctx, ['xapi', 'siteConfig', 'uptime'], parseUptime, signal)),
    optional(() => readJson(ctx, ['xapi', 'plugins'], parsePlugins, signal)),
  ]);
  const roles = await optional(() => userRoles(ctx, user, signal));
  const expiry = session();
  return {
    url,
    ...build,
    user,
    ...(roles !== undefined ? { siteAdmin: roles.includes(ADMINISTRATOR_ROLE) } : {}),
    ...(uptimeSeconds !== undefined ? { uptimeSeconds } : {}),
    ...(plugins !== undefined ? { plugins } : {}),
    ...(expiry !== undefined ? { session: expiry } : {}),
  };
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
