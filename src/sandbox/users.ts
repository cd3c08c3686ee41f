/**
 * User listings: `/data/users` (UserListResource) and `/data/projects/{p}/users`
 * (ProjectUserListResource). Both set 403 in their constructor when the caller lacks the right
 * (site admin; site admin or project owner) but Restlet still calls `represent`, so the table comes
 * back with the 403 status; xnatpy accepts 200 and 403 on these listings for that reason.
 */
import { canDeleteProject, roleIn } from './access.js';
import { findProject } from './lookup.js';
import { SandboxHttpError } from './errors.js';
import type { ProjectRole, SandboxUser, StoredProject } from './model.js';
import type { AuthedContext, Reply } from './reply.js';
import { tableReply } from './table.js';

/** XNAT's default project groups: `{project}_{role}` with their display names. */
const GROUP_NAMES: Record<ProjectRole, string> = {
  owner: 'Owners',
  member: 'Members',
  collaborator: 'Collaborators',
};

function withStatus(reply: Reply, allowed: boolean): Reply {
  return allowed ? reply : { ...reply, status: 403 };
}

/** `GET /data/users`: enabled users ordered by last name (`restrictUserListAccessToAdmins` is on by default). */
export function listUsers(ctx: AuthedContext): Reply {
  const users = ctx.state.archive.users
    .filter((u) => u.enabled)
    .sort((a, b) => (a.lastname < b.lastname ? -1 : a.lastname > b.lastname ? 1 : 0));
  const reply = tableReply(ctx, {
    columns: ['xdat_user_id', 'login', 'firstname', 'lastname', 'email'],
    rows: users.map((u) => ({
      xdat_user_id: String(u.xdatUserId),
      login: u.login,
      firstname: u.firstname,
      lastname: u.lastname,
      email: u.email,
    })),
    params: { title: 'Projects', totalRecords: String(users.length) },
  });
  return withStatus(reply, ctx.user.admin);
}

/** `GET /data/projects/{p}/users`: members of the project's groups, by group ID descending. */
export function listProjectUsers(ctx: AuthedContext): Reply {
  const id = ctx.params.project ?? '';
  const project = findProject(ctx.state.archive, id);
  if (!project) {
    throw new SandboxHttpError(
      404,
      `The project ID ${id} does not appear to be a valid project ID. Please verify your information.`,
    );
  }
  const reply = projectUsersTable(ctx, project);
  return withStatus(reply, ctx.user.admin || roleIn(project, ctx.user) === 'owner');
}

function projectUsersTable(ctx: AuthedContext, project: StoredProject, status = 200): Reply {
  const hidden = ctx.query.get('DISPLAY_HIDDEN_USERS')?.toLowerCase() === 'true';
  const rows = ctx.state.archive.users
    .filter((u) => project.users[u.login] !== undefined && (hidden || u.enabled))
    .map((u) => {
      const role = project.users[u.login] as ProjectRole;
      return {
        GROUP_ID: `${project.id}_${role}`,
        displayname: GROUP_NAMES[role],
        login: u.login,
        firstname: u.firstname,
        lastname: u.lastname,
        email: u.email,
      };
    })
    .sort((a, b) => (a.GROUP_ID < b.GROUP_ID ? 1 : a.GROUP_ID > b.GROUP_ID ? -1 : 0));
  const reply = tableReply(ctx, {
    columns: ['GROUP_ID', 'displayname', 'login', 'firstname', 'lastname', 'email'],
    rows,
    params: { title: 'Projects', totalRecords: String(rows.length) },
  });
  return { ...reply, status };
}

/**
 * The group a `{group}` path segment names, as ProjectMemberResource looks it up: the group ID
 * (`{p}_owner`), the project ID plus the segment (`owner`), or the display name (`Owners`).
 */
function groupRole(projectId: string, group: string): ProjectRole | undefined {
  for (const role of Object.keys(GROUP_NAMES) as ProjectRole[]) {
    const id = `${projectId}_${role}`;
    if (group === id || `${projectId}_${group}` === id || group === GROUP_NAMES[role]) return role;
  }
  return undefined;
}

/** The accounts a comma-separated `{login}` segment names (xdat_user_id, login or email); the rest are unknown. */
function namedUsers(ctx: AuthedContext, list: string): { users: SandboxUser[]; unknown: string[] } {
  const users: SandboxUser[] = [];
  const unknown: string[] = [];
  for (const name of list.split(',').map((n) => n.trim())) {
    const all = ctx.state.archive.users;
    const found = /^\d+$/.test(name)
      ? all.filter((u) => String(u.xdatUserId) === name)
      : all.filter((u) => u.login === name).length > 0
        ? all.filter((u) => u.login === name)
        : all.filter((u) => u.email === name);
    if (found.length > 0) users.push(...found);
    else unknown.push(name);
  }
  return { users, unknown };
}

/**
 * `PUT|DELETE /data/projects/{p}/users/{group}/{logins}` (ProjectMemberResource): adds accounts to, or
 * removes them from, one of the project's groups. Project owners and site admins only (403); an
 * unknown project or group, or (DELETE) no known account, is 404. Addresses of no account are invited
 * by email on PUT, which a sandbox cannot send and so ignores; `sendemail` likewise. Either way the
 * answer is the project's users table, with the status set.
 */
export function changeProjectUsers(ctx: AuthedContext): Reply {
  const projectId = ctx.params.project ?? '';
  const project = findProject(ctx.state.archive, projectId);
  if (!project) throw new SandboxHttpError(404, '');
  const role = groupRole(projectId, ctx.params.group ?? '');
  const { users } = namedUsers(ctx, ctx.params.login ?? '');
  const removing = ctx.method === 'DELETE';
  if (role === undefined || (removing && users.length === 0)) return projectUsersTable(ctx, project, 404);
  if (!canDeleteProject(project, ctx.user)) return projectUsersTable(ctx, project, 403);
  for (const user of users) {
    // A user is in one of a project's groups at a time: adding moves them.
    if (!removing) project.users[user.login] = role;
    else if (project.users[user.login] === role) delete project.users[user.login];
  }
  return projectUsersTable(ctx, project);
}
