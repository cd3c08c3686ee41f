/**
 * Identity and session services: `/data/JSESSION`, `/data/auth`, the form login
 * `/data/services/auth`, alias tokens (`/data/services/tokens/...`, §1.7) and the XAPI identity and
 * build-information endpoints (§8).
 */
import { checkCredentials, findUser, issueToken, tokenJson } from './auth.js';
import { SandboxHttpError } from './errors.js';
import { escapeHtml } from './pages.js';
import {
  emptyReply,
  jsonReply,
  textReply,
  type AuthedContext,
  type Reply,
  type RequestContext,
} from './reply.js';

function withCsrf(ctx: AuthedContext, text: string): string {
  return ctx.query.get('CSRF') === 'true' && ctx.session ? `${text}; XNAT_CSRF=${ctx.session.csrf}` : text;
}

export function getJsession(ctx: AuthedContext): Reply {
  // The servlet container opens a session for an anonymous (guest) caller on first use.
  const session = ctx.session ?? (ctx.user === ctx.state.guest ? ctx.startSession(ctx.user) : undefined);
  if (!session) throw new SandboxHttpError(500, 'No HTTP session.');
  return textReply(200, withCsrf(ctx, session.id));
}

export function deleteJsession(ctx: AuthedContext): Reply {
  if (ctx.session) ctx.state.sessions.invalidate(ctx.session.id);
  return emptyReply(200);
}

export function getAuth(ctx: AuthedContext): Reply {
  return textReply(200, withCsrf(ctx, `User '${ctx.user.login}' is logged in`));
}

/** `PUT|POST /data/services/auth` with a form body (AuthenticationRestlet). */
export async function formLogin(ctx: RequestContext): Promise<Reply> {
  const form = new URLSearchParams((await ctx.body()).toString('utf8'));
  const username = form.get('username') ?? form.get('j_username') ?? ctx.query.get('username') ?? '';
  const password = form.get('password') ?? form.get('j_password') ?? ctx.query.get('password') ?? '';
  const user = checkCredentials(ctx.state.archive, username, password, Date.now());
  if (!user) throw new SandboxHttpError(401, 'Authentication failed.');
  const session = ctx.startSession(user);
  if (!session) throw new SandboxHttpError(401, 'Maximum sessions exceeded.');
  return textReply(200, session.id);
}

/** `GET /data/services/tokens/{operation}[/user/{u} | /{alias}[/{secret}]]` (AliasTokenRestlet). */
export function aliasTokens(ctx: AuthedContext): Reply {
  const { archive } = ctx.state;
  const { operation = '', token: alias, secret, username } = ctx.params;
  if (ctx.user === ctx.state.guest)
    throw new SandboxHttpError(403, "The guest user can't request alias tokens");
  const now = Date.now();
  const ownLogin = (login: string): void => {
    if (login !== ctx.user.login && !ctx.user.admin) {
      throw new SandboxHttpError(
        403,
        'Non-admin users can only request operations on alias tokens for their own account',
      );
    }
  };
  const existing = () => {
    const found = archive.tokens.find((t) => t.alias === alias);
    if (!found) throw new SandboxHttpError(404, `Can't find an alias token with the alias ${alias ?? ''}`);
    return found;
  };
  switch (operation) {
    case 'issue': {
      const login = username ?? ctx.user.login;
      ownLogin(login);
      if (!findUser(archive, login))
        throw new SandboxHttpError(404, `Can't find a user with the username ${login}`);
      return jsonReply(tokenJson(issueToken(archive, login, now)));
    }
    case 'show': {
      const login = username ?? ctx.user.login;
      ownLogin(login);
      return jsonReply(archive.tokens.filter((t) => t.login === login && t.enabled).map(tokenJson));
    }
    case 'validate': {
      if (secret === undefined)
        throw new SandboxHttpError(401, 'You must provide both the alias and secret to validate a token.');
      const found = existing();
      const valid = found.enabled && found.estimatedExpirationTime > now && found.secret === secret;
      return jsonReply({ valid: valid ? found.login : null });
    }
    case 'invalidate': {
      const found = existing();
      ownLogin(found.login);
      found.enabled = false;
      return jsonReply({ result: 'OK' });
    }
    default:
      throw new SandboxHttpError(400, `Unknown operation: ${operation}`);
  }
}

// ---------------------------------------------------------------- XAPI

export function buildInfo(state: RequestContext['state']): Record<string, string> {
  return {
    version: state.version,
    buildNumber: '8',
    buildDate: 'Tue Jan 09 18:05:57 UTC 2024',
    sha: '3a4ae6b5d2',
    isDirty: 'false',
    commit: '8',
    tag: state.version,
    shaFull: '3a4ae6b5d24b6b8a1e0c6a6d3f8f4a0e7f7a9c21',
    branch: 'master',
    timestamp: String(state.startedAt),
  };
}

export function getBuildInfo(ctx: RequestContext): Reply {
  return jsonReply(buildInfo(ctx.state));
}

export function getBuildInfoProperty(ctx: RequestContext): Reply {
  const value = buildInfo(ctx.state)[ctx.params.property ?? ''];
  if (value === undefined)
    throw new SandboxHttpError(404, `No build property named ${ctx.params.property ?? ''}`);
  return textReply(200, value);
}

export function getSiteId(ctx: RequestContext): Reply {
  return textReply(200, ctx.state.archive.siteId);
}

export function getUptime(ctx: AuthedContext): Reply {
  let seconds = Math.floor((Date.now() - ctx.state.startedAt) / 1000);
  const days = Math.floor(seconds / 86_400);
  seconds -= days * 86_400;
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  // XnatAppInfo.getUptime: a map of strings.
  return jsonReply({
    days: String(days),
    hours: String(hours),
    minutes: String(minutes),
    seconds: String(seconds - minutes * 60),
  });
}

/**
 * The installed plugins as XnatPluginApi lists them (id -> XnatPluginBean; null fields left out, as
 * XNAT's object mapper does): the container service, the plugin most sites run.
 */
const PLUGINS: Record<string, Record<string, unknown>> = {
  containers: {
    pluginClass: 'org.nrg.containers.config.ContainersConfig',
    id: 'containers',
    name: 'containers',
    version: '3.4.3',
    description: 'Container Service',
    beanName: 'containersConfig',
    logConfigurationFile: 'META-INF/resources/containers-logback.xml',
    entityPackages: ['org.nrg.containers'],
    dataModelBeans: [],
    extendedAttributes: {},
  },
};

/** `GET /xapi/plugins`: every plugin by id. */
export function listPlugins(): Reply {
  return jsonReply(PLUGINS);
}

/** `GET /xapi/plugins/{plugin}`: one plugin; XAPI's NotFoundException otherwise. */
export function getPlugin(ctx: AuthedContext): Reply {
  const id = ctx.params.plugin ?? '';
  const plugin = Object.hasOwn(PLUGINS, id) ? PLUGINS[id] : undefined;
  if (!plugin) throw new SandboxHttpError(404, `No plugin with ID ${id} could be found on this system`);
  return jsonReply(plugin);
}

// ---------------------------------------------------------------- web pages

export function loginPage(): Reply {
  return textReply(
    200,
    '<!DOCTYPE html><html><head><title>XNAT -- Login</title></head><body><form method="post" action="login">' +
      '<input name="username"><input name="password" type="password"><button>Login</button></form></body></html>',
    'text/html;charset=UTF-8',
  );
}

/**
 * The web app's home page, reduced to its header's `user_info`: the user's name linking to their
 * profile, or a red "Guest" for anonymous callers on a site with guest access (xnatpy reads both).
 */
export function homePage(ctx: AuthedContext): Reply {
  const who =
    ctx.user === ctx.state.guest
      ? '<span style="color:red;">Guest</span>'
      : `&nbsp;<a id="username-link" href="${ctx.state.contextPath}/app/template/XDATScreen_UserDashboard.vm">${escapeHtml(ctx.user.login)}</a>`;
  return textReply(
    200,
    `<!DOCTYPE html><html><head><title>XNAT</title></head><body><span id="user_info">Logged in as: ${who}</span></body></html>`,
    'text/html;charset=UTF-8',
  );
}
