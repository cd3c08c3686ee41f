/**
 * People and access: a project's members and their groups, adding, moving and removing members
 * (ProjectMemberResource), the site's users and the current user's own details. Every change is
 * read back from the project's user listing, as XNAT answers unknown accounts on PUT with 200 (it
 * would invite them by email) and unknown groups with 404.
 */
import {
  XnatBadRequestError,
  XnatError,
  XnatNotFoundError,
  XnatPermissionError,
  type XnatErrorDetails,
} from './errors.js';
import { xnatPath, type RequestContext } from './http.js';
import {
  MEMBER_ROLES,
  type ActiveUser,
  type ProjectMember,
  type SiteUser,
  type UserDetails,
} from './models.js';
import { getBody, readTable } from './reads.js';
import {
  parseActiveUsers,
  parseProfile,
  parseRoles,
  toProjectMember,
  toSiteUser,
  type Profile,
} from './rows-site.js';

/** XNAT's site role of administrators (`UserRole.ROLE_ADMINISTRATOR`). */
export const ADMINISTRATOR_ROLE = 'Administrator';

/** XNAT's username rule (`Users.isValidUsername`): a letter or digit first, then letters, digits, `.`, `_`, `-`. */
const LOGIN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Reads go to `reads`; membership changes to `writes`. */
export interface AccessContext {
  reads: RequestContext;
  writes: RequestContext;
}

/** XNAT's reasons for its 403s on user listings (set as the status reason; the body is still the table). */
const PROJECT_USERS_DENIED = 'Access Denied: Only project owners and site managers can access user resources';
const SITE_USERS_DENIED = 'Access Denied: Only site managers can access site-level user resources';

/**
 * The same error, with XNAT's reason on 403 in place of the body (XNAT's 403 on user listings still
 * carries the table, whose rows must not reach a message), and a clearer 404.
 */
function explained(err: unknown, denied: string | undefined, notFound?: string): unknown {
  if (!(err instanceof XnatPermissionError || err instanceof XnatNotFoundError)) return err;
  const details: XnatErrorDetails = { method: err.method, path: err.path, status: err.status, cause: err };
  if (err instanceof XnatPermissionError) {
    return new XnatPermissionError('XNAT answered 403 Forbidden', { ...details, xnatMessage: denied });
  }
  return notFound === undefined ? err : new XnatNotFoundError(notFound, details);
}

/** Members of the project's groups (default and custom), as XNAT lists them: by group ID descending. */
export async function listProjectMembers(
  ctx: RequestContext,
  project: string,
  signal?: AbortSignal,
): Promise<ProjectMember[]> {
  const path = xnatPath('data', 'projects', project, 'users');
  try {
    return (await readTable(ctx, path, {}, signal)).rows.map(toProjectMember);
  } catch (err) {
    throw explained(err, PROJECT_USERS_DENIED, `Project ${project} was not found`);
  }
}

/** The site's enabled users (`/data/users`), by last name. */
export async function listUsers(ctx: RequestContext, signal?: AbortSignal): Promise<SiteUser[]> {
  try {
    return (await readTable(ctx, xnatPath('data', 'users'), {}, signal)).rows.map(toSiteUser);
  } catch (err) {
    throw explained(err, SITE_USERS_DENIED);
  }
}

/** Who is logged in now, with their session counts (`/xapi/users/active`: site admins only). */
export async function activeUsers(ctx: RequestContext, signal?: AbortSignal): Promise<ActiveUser[]> {
  const path = xnatPath('xapi', 'users', 'active');
  return parseActiveUsers(await getBody(ctx, { path, expect: 'json', signal }), { method: 'GET', path });
}

/** The user's site roles (`/xapi/users/{u}/roles`): only they themself and admins may ask. */
export async function userRoles(ctx: RequestContext, login: string, signal?: AbortSignal): Promise<string[]> {
  const path = xnatPath('xapi', 'users', login, 'roles');
  return parseRoles(await getBody(ctx, { path, expect: 'json', signal }), { method: 'GET', path });
}

/** The current user's profile; XNAT before 1.8 has no `/xapi/users/profile`, and then only the login is known. */
async function ownProfile(ctx: RequestContext, login: string, signal?: AbortSignal): Promise<Profile> {
  const path = xnatPath('xapi', 'users', 'profile');
  try {
    return parseProfile(await getBody(ctx, { path, expect: 'json', signal }), { method: 'GET', path });
  } catch (err) {
    if (err instanceof XnatNotFoundError) return { login };
    throw err;
  }
}

/** Who the client acts as: profile, site roles and whether they are a site admin. */
export async function userDetails(
  ctx: RequestContext,
  login: string,
  signal?: AbortSignal,
): Promise<UserDetails> {
  const [profile, roles] = await Promise.all([ownProfile(ctx, login, signal), userRoles(ctx, login, signal)]);
  return { ...profile, login, siteAdmin: roles.includes(ADMINISTRATOR_ROLE), roles };
}

/** A login as ProjectMemberResource must get it: one account, never read as a user ID or an email to invite. */
export function checkLogin(login: string): void {
  if (!LOGIN.test(login)) {
    throw new XnatBadRequestError(
      `"${login}" is not an XNAT login: logins start with a letter or digit and hold only letters, digits, ".", "_" and "-" (XNAT would take an email address as an invitation)`,
    );
  }
  if (/^\d+$/.test(login)) {
    throw new XnatBadRequestError(
      `"${login}" is all digits: XNAT reads it as a user ID (xdat_user_id), not a login, so it cannot be addressed here`,
    );
  }
}

/** The `{group}` segment for a role (`owner` → `{p}_owner`) or a custom group's ID or display name. */
function groupSegment(group: string): string {
  if (group.trim() === '' || group.includes('/')) {
    throw new XnatBadRequestError(
      `"${group}" is not a group: use owner, member, collaborator or a custom group's name`,
    );
  }
  return group;
}

export interface MemberChange {
  project: string;
  login: string;
  /** `owner`, `member`, `collaborator`, or a custom group's ID or display name. */
  group: string;
  signal?: AbortSignal | undefined;
}

/** Whether a member is in the group a role (`owner`), group ID or display name names. */
export function isInGroup(member: ProjectMember, project: string, group: string): boolean {
  if ((MEMBER_ROLES as readonly string[]).includes(group)) return member.role === group;
  return member.group === group || member.groupName === group || member.group === `${project}_${group}`;
}

/** Puts the user in the group (moving them out of any other group of the project); returns their row, read back. */
export async function setProjectMember(ctx: AccessContext, q: MemberChange): Promise<ProjectMember> {
  checkLogin(q.login);
  const path = xnatPath('data', 'projects', q.project, 'users', groupSegment(q.group), q.login);
  try {
    await ctx.writes.request({ method: 'PUT', path, signal: q.signal });
  } catch (err) {
    throw explained(
      err,
      undefined,
      `Project ${q.project} has no group "${q.group}" (the default groups are owner, member and collaborator), or the project does not exist`,
    );
  }
  const members = await listProjectMembers(ctx.reads, q.project, q.signal);
  const row = members.find((m) => m.login === q.login);
  if (row === undefined) {
    throw new XnatNotFoundError(
      `XNAT has no account with the login "${q.login}", so it was not added to ${q.project}; check the login with listUsers`,
    );
  }
  if (!isInGroup(row, q.project, q.group)) {
    throw new XnatError(
      `XNAT accepted the change, but ${q.login} reads back in ${row.groupName} (${row.group}), not in "${q.group}"`,
    );
  }
  return row;
}

/** Takes the user out of their group in the project; returns the membership they had. */
export async function removeProjectMember(
  ctx: AccessContext,
  q: { project: string; login: string; signal?: AbortSignal | undefined },
): Promise<ProjectMember> {
  checkLogin(q.login);
  const before = await listProjectMembers(ctx.reads, q.project, q.signal);
  const current = before.find((m) => m.login === q.login);
  if (current === undefined) {
    throw new XnatNotFoundError(`${q.login} is not a member of project ${q.project}; nothing was changed`);
  }
  const path = xnatPath('data', 'projects', q.project, 'users', current.group, q.login);
  try {
    await ctx.writes.request({ method: 'DELETE', path, signal: q.signal });
  } catch (err) {
    throw explained(err, undefined);
  }
  const after = await listProjectMembers(ctx.reads, q.project, q.signal);
  if (after.some((m) => m.login === q.login)) {
    throw new XnatError(
      `XNAT accepted the removal, but ${q.login} still reads back as a member of ${q.project}`,
    );
  }
  return current;
}
