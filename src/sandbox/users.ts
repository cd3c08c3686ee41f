/**
 * User listings and project membership: `/data/users` (UserListResource), `/data/projects/{p}/users`
 * (ProjectUserListResource) and `PUT|DELETE /data/projects/{p}/users/{group}/{logins}`
 * (ProjectMemberResource). The listings set 403 in their constructor when the caller lacks the right
 * but Restlet still calls `represent`, so the table comes back with the 403 status; xnatpy accepts
 * 200 and 403 on these listings for that reason.
 */
import { canDeleteProject, canListProject, roleIn } from './access.js';
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

/** One of a project's groups (`xdat:userGroup` tagged with the project) and its members' logins. */
interface Group {
  id: string;
  displayname: string;
  members: string[];
  /** Set for the three default groups. */
  role?: ProjectRole;
}

function projectGroups(project: StoredProject): Group[] {
  const defaults = (Object.keys(GROUP_NAMES) as ProjectRole[]).map((role) => ({
    id: `${project.id}_${role}`,
    displayname: GROUP_NAMES[role],
    role,
    members: Object.keys(project.users).filter((login) => project.users[login] === role),
  }));
  return [...defaults, ...(project.groups ?? [])];
}

function withStatus(reply: Reply, allowed: boolean): Reply {
  return allowed ? reply : { ...reply, status: 403 };
}

/**
 * `GET /data/users`: enabled users ordered by last name. Guests, and non-admins when the site
 * restricts the user list to admins (`restrictUserListAccessToAdmins`, off by default), get 403.
 */
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
  const guest = ctx.user === ctx.state.guest;
  return withStatus(reply, !guest && (ctx.user.admin || !ctx.state.restrictUserList));
}

/**
 * `GET /data/projects/{p}/users`: members of the project's groups (custom groups too), by group ID
 * descending. Only those who may edit the project (its owners, site admins) are allowed: XNAT gives
 * edit rights on `xnat:projectData` to the "Owners" group alone.
 */
export function listProjectUsers(ctx: AuthedContext): Reply {
  const id = ctx.params.project ?? '';
  const project = findProject(ctx.state.archive, id);
  // The lookup runs as the caller: a private project they cannot see is no project at all.
  if (!project || !canListProject(project, ctx.user)) {
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
  const rows = projectGroups(project)
    .flatMap((group) =>
      ctx.state.archive.users
        .filter((u) => group.members.includes(u.login) && (hidden || u.enabled))
        .map((u) => ({
          GROUP_ID: group.id,
          displayname: group.displayname,
          login: u.login,
          firstname: u.firstname,
          lastname: u.lastname,
          email: u.email,
        })),
    )
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
 * (`{p}_owner`), the project ID plus the segment (`owner`), or a display name of one of the
 * project's groups (`Owners`, or a custom group's).
 */
function findGroup(project: StoredProject, segment: string): Group | undefined {
  const groups = projectGroups(project);
  return (
    groups.find((g) => g.id === segment) ??
    groups.find((g) => g.id === `${project.id}_${segment}`) ??
    groups.find((g) => g.displayname === segment)
  );
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

/** Takes the user out of every group of the project (XnatProjectdata.addGroupMember does so before adding). */
function leaveProject(project: StoredProject, login: string): void {
  delete project.users[login];
  for (const group of project.groups ?? []) group.members = group.members.filter((m) => m !== login);
}

function removeFrom(project: StoredProject, group: Group, login: string): void {
  if (group.role !== undefined) {
    if (project.users[login] === group.role) delete project.users[login];
    return;
  }
  const custom = project.groups?.find((g) => g.id === group.id);
  if (custom) custom.members = custom.members.filter((m) => m !== login);
}

function addTo(project: StoredProject, group: Group, login: string): void {
  leaveProject(project, login);
  if (group.role !== undefined) project.users[login] = group.role;
  else project.groups?.find((g) => g.id === group.id)?.members.push(login);
}

/**
 * `PUT|DELETE /data/projects/{p}/users/{group}/{logins}` (ProjectMemberResource): adds accounts to, or
 * removes them from, one of the project's groups. Project owners and site admins only (403); an
 * unknown project or group, or (DELETE) no known account, is 404; adding the guest account is 412.
 * Addresses of no account are invited by email on PUT, which a sandbox cannot send and so ignores;
 * `sendemail` likewise. Either way the answer is the project's users table, with the status set.
 */
export function changeProjectUsers(ctx: AuthedContext): Reply {
  const projectId = ctx.params.project ?? '';
  const project = findProject(ctx.state.archive, projectId);
  if (!project || !canListProject(project, ctx.user)) throw new SandboxHttpError(404, '');
  const group = findGroup(project, ctx.params.group ?? '');
  const { users } = namedUsers(ctx, ctx.params.login ?? '');
  const removing = ctx.method === 'DELETE';
  if (group === undefined || (removing && users.length === 0)) return projectUsersTable(ctx, project, 404);
  if (!canDeleteProject(project, ctx.user)) return projectUsersTable(ctx, project, 403);
  let status = 200;
  for (const user of users) {
    if (removing) removeFrom(project, group, user.login);
    else if (user.login === 'guest') status = 412;
    else addTo(project, group, user.login);
  }
  return projectUsersTable(ctx, project, status);
}
