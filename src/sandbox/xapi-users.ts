/**
 * XNAT's user XAPI (`UsersApi`, `/xapi/users/...`): the caller's login and profile, the site's
 * logins and profiles (`AccessLevel.Authorizer` with UserResourceXapiAuthorization: any user unless
 * the site restricts the user list to admins) and a user's site roles (`AccessLevel.User`: the user
 * themself or an admin) and who is logged in now (`AccessLevel.Admin`). Profiles are XNAT's `User` bean as its object mapper writes it: null
 * fields (password, salt, authorization, a login never made) are left out. Refusals are XAPI's
 * InsufficientPrivilegesException: 403 with an empty body.
 */
import { SandboxHttpError } from './errors.js';
import type { SandboxUser } from './model.js';
import { jsonReply, textReply, type AuthedContext, type Reply } from './reply.js';

/** XNAT's role name of site administrators (`UserRole.ROLE_ADMINISTRATOR`). */
const ADMINISTRATOR = 'Administrator';

function profile(user: SandboxUser, lastLogin: number | undefined): Record<string, unknown> {
  return {
    id: user.xdatUserId,
    username: user.login,
    firstName: user.firstname,
    lastName: user.lastname,
    email: user.email,
    enabled: user.enabled,
    verified: true,
    secured: true,
    ...(lastLogin !== undefined ? { lastSuccessfulLogin: lastLogin } : {}),
  };
}

/** UserResourceXapiAuthorization: everyone but the guest, unless the site restricts the list to admins. */
function checkUserList(ctx: AuthedContext): void {
  if (ctx.user === ctx.state.guest || (ctx.state.restrictUserList && !ctx.user.admin)) {
    throw new SandboxHttpError(403, '');
  }
}

export function getUsername(ctx: AuthedContext): Reply {
  return textReply(200, ctx.user.login);
}

/** `GET /xapi/users/profile`: the caller's own profile. */
export function getProfile(ctx: AuthedContext): Reply {
  return jsonReply(profile(ctx.user, ctx.session?.created));
}

/** `GET /xapi/users`: every login. */
export function listUserLogins(ctx: AuthedContext): Reply {
  checkUserList(ctx);
  return jsonReply(ctx.state.archive.users.map((u) => u.login));
}

/** `GET /xapi/users/profiles`: every user's profile (disabled ones too), by xdat_user_id. */
export function listUserProfiles(ctx: AuthedContext): Reply {
  checkUserList(ctx);
  const users = [...ctx.state.archive.users].sort((a, b) => a.xdatUserId - b.xdatUserId);
  return jsonReply(users.map((u) => profile(u, undefined)));
}

/** `GET /xapi/users/{username}/roles`: the user's site roles; only they and admins may ask. */
export function getUserRoles(ctx: AuthedContext): Reply {
  const username = ctx.params.username ?? '';
  if (username !== ctx.user.login && !ctx.user.admin) {
    throw new SandboxHttpError(403, '');
  }
  const user = ctx.state.archive.users.find((u) => u.login === username);
  return jsonReply(user?.admin ? [ADMINISTRATOR] : []);
}

/** `GET /xapi/users/active` (admins only): users with live sessions, their session IDs and count. */
export function listActiveUsers(ctx: AuthedContext): Reply {
  if (!ctx.user.admin) throw new SandboxHttpError(403, '');
  const active: Record<string, { sessions: string[]; count: number }> = {};
  for (const session of ctx.state.sessions.live(Date.now())) {
    const entry = (active[session.login] ??= { sessions: [], count: 0 });
    entry.sessions.push(session.id);
    entry.count++;
  }
  return jsonReply(active);
}
