/**
 * User listings: `/data/users` (UserListResource) and `/data/projects/{p}/users`
 * (ProjectUserListResource). Both set 403 in their constructor when the caller lacks the right
 * (site admin; site admin or project owner) but Restlet still calls `represent`, so the table comes
 * back with the 403 status; xnatpy accepts 200 and 403 on these listings for that reason.
 */
import { roleIn } from './access.js';
import { findProject } from './lookup.js';
import { SandboxHttpError } from './errors.js';
import type { ProjectRole } from './model.js';
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
  return withStatus(reply, ctx.user.admin || roleIn(project, ctx.user) === 'owner');
}
