/**
 * The `access` toolset: who has access to a project and with which role, adding, moving and
 * removing members (through the one write pipeline: allow-list, dry run, confirmation, audit, read
 * back), and the site's users and the current user.
 */
import * as z from 'zod';
import { isInGroup } from '../client/access.js';
import { MEMBER_ROLES, type ProjectMember } from '../client/models.js';
import { READ_ONLY, defineTool, writeAnnotations } from '../mcp/define.js';
import { ToolInputError } from '../mcp/errors.js';
import {
  ActiveUserItemSchema,
  MEMBER_COLUMNS,
  MeSchema,
  MemberItemSchema,
  SiteUserItemSchema,
  memberRow,
  renderMe,
  shapeMe,
  shapeMember,
  shapeSiteUser,
} from '../mcp/format-access.js';
import { listOutput, pageListing, pageOfArray, pagingInput, renderList, renderTable } from '../mcp/format.js';
import { projectParam, textParam } from '../mcp/params.js';
import { projectTarget } from '../mcp/targets.js';
import { defineWriteTool } from '../mcp/write.js';

const loginParam = textParam('Login', 100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'An XNAT login: letters, digits, ".", "_" and "-"')
  .describe('XNAT login (username), e.g. from listUsers');

export const listProjectMembers = defineTool({
  name: 'listProjectMembers',
  title: "List an XNAT project's members",
  description:
    "Who has access to a project and with which role: owner, member, collaborator (XNAT's default groups) or a custom group. XNAT shows this to the project's owners and site admins only. Paged.",
  toolset: 'access',
  inputSchema: { project: projectParam, ...pagingInput },
  outputSchema: { project: z.string(), ...listOutput(MemberItemSchema) },
  annotations: READ_ONLY,
  writes: false,
  async handler({ project, limit, cursor }, { client, signal }) {
    const page = await pageListing(
      'listProjectMembers',
      { project },
      { limit, cursor },
      async (spec) => pageOfArray(await client.listProjectMembers(project, { signal }), spec),
      shapeMember,
    );
    return { project, ...page };
  },
  render: (out) => renderList(`members of ${out.project}`, out, MEMBER_COLUMNS, memberRow),
  target: ({ project }) => projectTarget(project),
});

type ManageAction = 'add' | 'setRole' | 'remove';

interface MemberPlan {
  current: ProjectMember | undefined;
  /** The call changes nothing: the user already is in that group. */
  unchanged: boolean;
}

const isDefaultRole = (group: string): boolean => (MEMBER_ROLES as readonly string[]).includes(group);

function planMember(
  members: ProjectMember[],
  args: { action: ManageAction; project: string; login: string; role?: string | undefined },
): MemberPlan {
  const { action, project, login, role } = args;
  const current = members.find((m) => m.login === login);
  const where = current === undefined ? '' : `${current.groupName} (${current.role})`;
  if (action === 'remove') {
    if (role !== undefined)
      throw new ToolInputError('role applies to add and setRole; leave it out to remove.');
    if (current === undefined) {
      throw new ToolInputError(`${login} is not a member of project ${project}; nothing to remove.`);
    }
    return { current, unchanged: false };
  }
  if (role === undefined) {
    throw new ToolInputError(`${action} needs role: owner, member, collaborator, or a custom group's name.`);
  }
  if (action === 'add' && current !== undefined && !isInGroup(current, project, role)) {
    throw new ToolInputError(
      `${login} is already in project ${project} as ${where}; use action "setRole" to change the role.`,
    );
  }
  if (action === 'setRole' && current === undefined) {
    throw new ToolInputError(`${login} is not a member of project ${project}; use action "add".`);
  }
  return { current, unchanged: current !== undefined && isInGroup(current, project, role) };
}

const describeMember = (m: ProjectMember | undefined): string =>
  m === undefined ? 'no access' : `${m.groupName} (${m.role})`;

export const manageProjectMember = defineWriteTool({
  name: 'manageProjectMember',
  title: "Change an XNAT project's members",
  description:
    "Adds a user to a project with a role (owner, member, collaborator or a custom group's name), changes their role, or removes them. Owners and site admins only. Removing someone, or taking owner rights away, needs the user's confirmation (see `confirm`); try dryRun: true first. Returns the membership read back from XNAT.",
  toolset: 'access',
  inputSchema: {
    action: z.enum(['add', 'setRole', 'remove']).describe('add a user, change their role, or remove them'),
    project: projectParam,
    login: loginParam,
    role: textParam('Role')
      .optional()
      .describe("For add and setRole: owner, member, collaborator, or a custom group's name"),
  },
  outputSchema: {
    action: z.string(),
    project: z.string(),
    login: z.string(),
    before: z.string().describe('Their group before the call, or "no access"'),
    after: z.string().describe('Their group after the call (read back), or "no access"'),
    member: MemberItemSchema.optional(),
    changed: z.boolean(),
    dryRun: z.boolean(),
    summary: z.string(),
  },
  annotations: writeAnnotations({ destructive: true, idempotent: true }),
  resolve: (args, { client, signal }) => client.listProjectMembers(args.project, { signal }),
  projects: (_, args) => [
    { project: args.project, action: `${args.action} ${args.login} in project ${args.project}` },
  ],
  plan: async (members, args) => planMember(members, args),
  guard: {
    preview: (plan, args) => ({
      action: args.action,
      project: args.project,
      login: args.login,
      before: describeMember(plan.current),
      after: args.action === 'remove' ? 'no access' : (args.role ?? ''),
      changed: false,
      dryRun: true,
      summary: plan.unchanged
        ? `${args.login} already is in ${describeMember(plan.current)}; nothing would change.`
        : `Would ${args.action === 'remove' ? 'remove' : 'put'} ${args.login} ${args.action === 'remove' ? 'from' : 'in'} project ${args.project}${args.action === 'remove' ? '' : ` as ${args.role ?? ''}`} (now: ${describeMember(plan.current)}).`,
    }),
    // Removal, and taking owner rights away (possibly one's own), can lock people out.
    confirmation: (plan, args) =>
      !plan.unchanged && (args.action === 'remove' || plan.current?.role === 'owner')
        ? {
            action:
              args.action === 'remove'
                ? 'remove'
                : `change the role (now ${describeMember(plan.current)}) of`,
            target: `${args.login} ${args.action === 'remove' ? 'from' : 'in'} project ${args.project}`,
            expected: args.login,
          }
        : undefined,
  },
  act: async (plan, args, { client, signal }) => {
    if (plan.unchanged) return plan.current;
    if (args.action === 'remove') {
      await client.removeProjectMember({ project: args.project, login: args.login, signal });
      return undefined;
    }
    return client.setProjectMember({
      project: args.project,
      login: args.login,
      group: args.role ?? '',
      signal,
    });
  },
  audit: (plan, result, args) =>
    plan.unchanged
      ? undefined
      : {
          object: `project ${args.project}`,
          detail: `${args.action} ${args.login}: ${describeMember(plan.current)} -> ${describeMember(result)}`,
        },
  summarise: (plan, result, args) => ({
    action: args.action,
    project: args.project,
    login: args.login,
    before: describeMember(plan.current),
    after: describeMember(result),
    ...(result !== undefined ? { member: shapeMember(result) } : {}),
    changed: !plan.unchanged,
    dryRun: false,
    summary: plan.unchanged
      ? `${args.login} already was in ${describeMember(result)} of project ${args.project}; nothing changed.`
      : `${args.login} in project ${args.project}: ${describeMember(plan.current)} -> ${describeMember(result)} (read back from XNAT).`,
  }),
  render: (out) =>
    [
      out.dryRun ? `Dry run: ${out.summary} Nothing was changed.` : out.summary,
      `action: ${out.action}; project: ${out.project}; login: ${out.login}; before: ${out.before}; after: ${out.after}`,
      ...(out.member ? [memberRow(out.member).join('\t')] : []),
    ].join('\n'),
  target: ({ project, role }) =>
    role === undefined || isDefaultRole(role)
      ? projectTarget(project)
      : {
          what: `Group "${role}" of project ${project}`,
          nextStep:
            "the default groups are owner, member and collaborator; listProjectMembers shows the project's custom groups",
        },
});

export const listUsers = defineTool({
  name: 'listUsers',
  title: 'List XNAT users',
  description:
    "scope 'site': the site's enabled users (login, name, email), filtered by a substring; XNAT may restrict this list to site admins. scope 'me': the logged-in user's own profile, site roles and whether they are a site admin. scope 'active' (site admins only): who is logged in now. Project roles: listProjectMembers. Paged.",
  toolset: 'access',
  inputSchema: {
    scope: z
      .enum(['site', 'me', 'active'])
      .default('site')
      .describe("'site': all users; 'me': the logged-in user; 'active': users logged in now (admins)"),
    filter: textParam('Filter', 100).optional().describe('Substring of login, name or email (scope site)'),
    ...pagingInput,
  },
  outputSchema: {
    scope: z.string(),
    items: z.array(SiteUserItemSchema).optional(),
    total: z.number().optional(),
    nextCursor: z.string().optional(),
    me: MeSchema.optional(),
    active: z.array(ActiveUserItemSchema).optional(),
  },
  annotations: READ_ONLY,
  writes: false,
  async handler({ scope, filter, limit, cursor }, { client, signal }) {
    if (scope === 'me') return { scope, me: shapeMe(await client.userDetails({ signal })) };
    if (scope === 'active') return { scope, active: await client.activeUsers({ signal }) };
    const needle = filter?.toLowerCase();
    const page = await pageListing(
      'listUsers',
      { filter },
      { limit, cursor },
      async (spec) => {
        const users = (await client.listUsers({ signal })).filter(
          (u) =>
            needle === undefined ||
            [u.login, u.firstname, u.lastname, u.email].some((v) => v.toLowerCase().includes(needle)),
        );
        return pageOfArray(users, spec);
      },
      shapeSiteUser,
    );
    return { scope, ...page };
  },
  render: (out) => {
    if (out.me !== undefined) return `scope: me\n${renderMe(out.me)}`;
    if (out.active !== undefined) {
      const who = out.active.map((a) => [a.login, a.sessions]);
      return `scope: active\n${who.length === 0 ? 'Nobody is logged in.' : renderTable(['login', 'sessions'], who)}`;
    }
    const page = {
      items: out.items ?? [],
      ...(out.total !== undefined ? { total: out.total } : {}),
      ...(out.nextCursor !== undefined ? { nextCursor: out.nextCursor } : {}),
    };
    const rows = renderList('users', page, ['login', 'name', 'email', 'id'], (u) => [
      u.login,
      u.name,
      u.email,
      u.id,
    ]);
    return `scope: site\n${rows}`;
  },
  target: ({ scope }) => ({
    what: scope === 'active' ? 'the list of logged-in users (site admins only)' : "the site's user list",
    nextStep: 'ask a site admin, or use listProjectMembers for one project',
  }),
});
