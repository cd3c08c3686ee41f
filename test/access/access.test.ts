/**
 * People and access end to end: MCP clients over Streamable HTTP, each server acting as one demo
 * user against the sandbox. Member and role listings equal pyxnat's `project.users()` and
 * `project.user_role()`; what our tools add, change and remove reads back through pyxnat (and what
 * pyxnat changes reads back through our tools); XNAT's 403 rules give clear errors; alice and carol
 * see what XNAT lets each of them see.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/index.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import type { ServerOptions } from '../../src/server.js';
import { startHttpServer, type RunningHttpServer } from '../../src/transports/http.js';
import { pyxnatPython } from '../pyxnat/pyxnat-available.js';
import { call, callOk, textOf } from '../server/helpers.js';

const run = promisify(execFile);
const PYTHON = await pyxnatPython();
const SCRIPT = fileURLToPath(new URL('./pyxnat_members.py', import.meta.url));

const PASSWORDS: Record<string, string> = {
  admin: 'admin',
  alice: 'alice123',
  bob: 'bob123',
  carol: 'carol123',
  dave: 'dave123',
};

interface Member {
  login: string;
  name: string;
  email: string;
  role: string;
  group: string;
  groupId: string;
}
interface Members {
  project: string;
  items: Member[];
  total?: number;
}
interface PyxnatMembers {
  users: string[];
  roles: Record<string, string>;
  owners: string[];
  members: string[];
  collaborators: string[];
  error?: string;
}

interface Session {
  mcp: Client;
  close(): Promise<void>;
}

let sandbox: RunningSandbox;
const sessions: Session[] = [];

/** An MCP client over HTTP to a server that acts as `login` in XNAT. */
async function connect(login: string, options: ServerOptions = {}, url = sandbox.url): Promise<Session> {
  const xnat = new XnatClient({ url, user: login, password: PASSWORDS[login] ?? '' });
  const http: RunningHttpServer = await startHttpServer(
    { client: xnat },
    { toolsets: ['core', 'access'], ...options },
    { port: 0 },
  );
  const mcp = new Client({ name: `access-${login}`, version: '0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(http.url)));
  await mcp.listTools();
  const session = {
    mcp,
    async close() {
      await mcp.close();
      await http.close();
      await xnat.close();
    },
  };
  sessions.push(session);
  return session;
}

async function pyxnat(
  login: string,
  project: string,
  extra: Record<string, unknown> = {},
): Promise<PyxnatMembers> {
  const config = { url: sandbox.url, user: login, password: PASSWORDS[login], project, ...extra };
  const { stdout } = await run(PYTHON ?? '', [SCRIPT, JSON.stringify(config)], { timeout: 60_000 });
  const out = JSON.parse(stdout) as PyxnatMembers;
  if (out.error !== undefined) throw new Error(`pyxnat failed: ${out.error}`);
  return out;
}

/** pyxnat's role word: the group's display name, lower case, without its plural s. */
const pyxnatRole = (m: Member): string =>
  m.role === 'custom' ? m.group.toLowerCase().replace(/s$/, '') : m.role;

let admin: Session;
let alice: Session;
let bob: Session;
let carol: Session;

beforeAll(async () => {
  sandbox = await startSandbox({ archive: createDemoArchive() });
  [admin, alice, bob, carol] = await Promise.all([
    connect('admin'),
    connect('alice'),
    connect('bob'),
    connect('carol'),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await sandbox?.close();
});

describe('project members and roles', () => {
  it("lists a project's members with their roles, custom groups included", async () => {
    const out = await callOk<Members>(bob.mcp, 'listProjectMembers', { project: 'PET_AMYLOID' });
    expect(out.items.map((m) => [m.login, m.role, m.group, m.groupId])).toEqual([
      ['carol', 'custom', 'Image Readers', 'PET_AMYLOID_readers'],
      ['bob', 'owner', 'Owners', 'PET_AMYLOID_owner'],
      ['alice', 'member', 'Members', 'PET_AMYLOID_member'],
    ]);
    expect(out.items.find((m) => m.login === 'bob')).toMatchObject({
      name: 'Bob Brown',
      email: 'bob@example.org',
    });
    expect(out.total).toBe(3);
  });

  it.skipIf(PYTHON === undefined)(
    "equals pyxnat's project.users() and user_role() on the same sandbox",
    async () => {
      for (const [login, project] of [
        ['bob', 'PET_AMYLOID'],
        ['alice', 'BRAIN_MR'],
        ['carol', 'PEDS_DTI'],
        ['admin', 'PET_AMYLOID'],
      ] as const) {
        const session = { admin, alice, bob, carol }[login];
        const ours = await callOk<Members>(session.mcp, 'listProjectMembers', { project });
        const theirs = await pyxnat(login, project);
        expect(ours.items.map((m) => m.login).sort()).toEqual(theirs.users);
        expect(Object.fromEntries(ours.items.map((m) => [m.login, pyxnatRole(m)]))).toEqual(theirs.roles);
        const byRole = (role: string) =>
          ours.items
            .filter((m) => m.role === role)
            .map((m) => m.login)
            .sort();
        expect([byRole('owner'), byRole('member'), byRole('collaborator')]).toEqual([
          theirs.owners,
          theirs.members,
          theirs.collaborators,
        ]);
      }
    },
    180_000,
  );

  it.skipIf(PYTHON === undefined)(
    'adds, changes and removes a member, each change read back through pyxnat',
    async () => {
      const added = await callOk<{ after: string; member: Member; changed: boolean }>(
        bob.mcp,
        'manageProjectMember',
        {
          action: 'add',
          project: 'PET_AMYLOID',
          login: 'dave',
          role: 'collaborator',
        },
      );
      expect(added).toMatchObject({ after: 'Collaborators (collaborator)', changed: true });
      expect((await pyxnat('bob', 'PET_AMYLOID')).roles.dave).toBe('collaborator');

      const moved = await callOk<{ before: string; after: string }>(bob.mcp, 'manageProjectMember', {
        action: 'setRole',
        project: 'PET_AMYLOID',
        login: 'dave',
        role: 'member',
      });
      expect(moved).toMatchObject({ before: 'Collaborators (collaborator)', after: 'Members (member)' });
      expect((await pyxnat('bob', 'PET_AMYLOID')).roles.dave).toBe('member');

      // Removal is destructive: without elicitation it needs `confirm`, and a dry run changes nothing.
      const refused = await call(bob.mcp, 'manageProjectMember', {
        action: 'remove',
        project: 'PET_AMYLOID',
        login: 'dave',
      });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toContain('confirm');
      const dry = await callOk<{ dryRun: boolean; summary: string }>(bob.mcp, 'manageProjectMember', {
        action: 'remove',
        project: 'PET_AMYLOID',
        login: 'dave',
        dryRun: true,
      });
      expect(dry.dryRun).toBe(true);
      expect((await pyxnat('bob', 'PET_AMYLOID')).users).toContain('dave');

      const removed = await callOk<{ before: string; after: string }>(bob.mcp, 'manageProjectMember', {
        action: 'remove',
        project: 'PET_AMYLOID',
        login: 'dave',
        confirm: 'dave',
      });
      expect(removed).toMatchObject({ before: 'Members (member)', after: 'no access' });
      expect((await pyxnat('bob', 'PET_AMYLOID')).users).not.toContain('dave');
    },
    180_000,
  );

  it.skipIf(PYTHON === undefined)(
    "reads back through our tools what pyxnat's add_user and remove_user change",
    async () => {
      await pyxnat('bob', 'PET_AMYLOID', { add: ['dave', 'owner'] });
      const after = await callOk<Members>(bob.mcp, 'listProjectMembers', { project: 'PET_AMYLOID' });
      expect(after.items.find((m) => m.login === 'dave')).toMatchObject({ role: 'owner', group: 'Owners' });
      // pyxnat removes by the group its user_role() names, custom groups included.
      await pyxnat('bob', 'PET_AMYLOID', { remove: 'dave' });
      await pyxnat('bob', 'PET_AMYLOID', { remove: 'carol' });
      const gone = await callOk<Members>(bob.mcp, 'listProjectMembers', { project: 'PET_AMYLOID' });
      expect(gone.items.map((m) => m.login).sort()).toEqual(['alice', 'bob']);
      // Put carol back in the custom group through our tool, by the group's display name.
      const back = await callOk<{ member: Member }>(bob.mcp, 'manageProjectMember', {
        action: 'add',
        project: 'PET_AMYLOID',
        login: 'carol',
        role: 'Image Readers',
      });
      expect(back.member).toMatchObject({ role: 'custom', groupId: 'PET_AMYLOID_readers' });
    },
    180_000,
  );

  it('asks for confirmation before taking owner rights away, and changes nothing when the role is already held', async () => {
    const same = await callOk<{ changed: boolean }>(bob.mcp, 'manageProjectMember', {
      action: 'setRole',
      project: 'PET_AMYLOID',
      login: 'alice',
      role: 'member',
    });
    expect(same.changed).toBe(false);
    const demote = await call(alice.mcp, 'manageProjectMember', {
      action: 'setRole',
      project: 'BRAIN_MR',
      login: 'alice',
      role: 'member',
    });
    expect(demote.isError).toBe(true);
    expect(textOf(demote)).toContain('confirm');
    const still = await callOk<Members>(alice.mcp, 'listProjectMembers', { project: 'BRAIN_MR' });
    expect(still.items.find((m) => m.login === 'alice')?.role).toBe('owner');
  });

  it('refuses unknown accounts, groups and contradictory arguments with what to do instead', async () => {
    const unknown = await call(bob.mcp, 'manageProjectMember', {
      action: 'add',
      project: 'PET_AMYLOID',
      login: 'nobody',
      role: 'member',
    });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toContain('no account with the login "nobody"');
    const group = await call(bob.mcp, 'manageProjectMember', {
      action: 'add',
      project: 'PET_AMYLOID',
      login: 'dave',
      role: 'Reviewers',
    });
    expect(group.isError).toBe(true);
    expect(textOf(group)).toContain('the default groups are owner, member and collaborator');
    const already = await call(bob.mcp, 'manageProjectMember', {
      action: 'add',
      project: 'PET_AMYLOID',
      login: 'alice',
      role: 'owner',
    });
    expect(textOf(already)).toContain('use action "setRole"');
    const email = await call(bob.mcp, 'manageProjectMember', {
      action: 'add',
      project: 'PET_AMYLOID',
      login: 'someone@example.org',
      role: 'member',
    });
    expect(email.isError).toBe(true);
    const members = await callOk<Members>(bob.mcp, 'listProjectMembers', { project: 'PET_AMYLOID' });
    expect(members.items.map((m) => m.login)).not.toContain('nobody');
    expect(members.items.map((m) => m.login)).not.toContain('dave');
  });
});

describe("XNAT's 403 rules, per user", () => {
  it('lets only owners and site admins list members: alice and carol each see their own projects', async () => {
    const visible = async (session: Session, project: string) =>
      !(await call(session.mcp, 'listProjectMembers', { project })).isError;
    expect(await visible(alice, 'BRAIN_MR')).toBe(true);
    expect(await visible(carol, 'PEDS_DTI')).toBe(true);
    expect(await visible(carol, 'BRAIN_MR')).toBe(false);
    expect(await visible(alice, 'PET_AMYLOID')).toBe(false);
    expect(await visible(admin, 'PEDS_DTI')).toBe(true);

    const denied = await call(alice.mcp, 'listProjectMembers', { project: 'PET_AMYLOID' });
    expect(textOf(denied)).toContain('not allowed');
    expect(textOf(denied)).toContain('Only project owners and site managers can access user resources');
    // XNAT's 403 still carries the member table: none of it may leak into the error.
    expect(textOf(denied)).not.toContain('bob@example.org');
    const hidden = await call(alice.mcp, 'listProjectMembers', { project: 'PEDS_DTI' });
    expect(textOf(hidden)).toContain('not found');
  });

  it('refuses membership changes by non-owners, leaving the project as it was', async () => {
    const result = await call(carol.mcp, 'manageProjectMember', {
      action: 'add',
      project: 'BRAIN_MR',
      login: 'dave',
      role: 'member',
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('not allowed');
    const members = await callOk<Members>(alice.mcp, 'listProjectMembers', { project: 'BRAIN_MR' });
    expect(members.items.map((m) => m.login)).not.toContain('dave');
  });

  it("applies the operator's project allow-list and read-only mode", async () => {
    const limited = await connect('bob', { projects: ['BRAIN_MR'] });
    const refused = await call(limited.mcp, 'manageProjectMember', {
      action: 'add',
      project: 'PET_AMYLOID',
      login: 'dave',
      role: 'member',
    });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('PET_AMYLOID');
    const readOnly = await connect('bob', { readOnly: true });
    const names = (await readOnly.mcp.listTools()).tools.map((t) => t.name);
    expect(names).toContain('listProjectMembers');
    expect(names).not.toContain('manageProjectMember');
  });
});

describe('site users and the current user', () => {
  interface Users {
    scope: string;
    items?: Array<{ login: string; name: string; email: string; id: number }>;
    total?: number;
    me?: { login: string; siteAdmin: boolean; roles: string[]; name?: string };
  }

  it("lists the site's users to every user, filtered", async () => {
    const all = await callOk<Users>(carol.mcp, 'listUsers', {});
    expect(all.items?.map((u) => u.login)).toEqual(['admin', 'alice', 'bob', 'carol', 'dave']);
    const some = await callOk<Users>(carol.mcp, 'listUsers', { filter: 'brown' });
    expect(some.items).toEqual([{ login: 'bob', name: 'Bob Brown', email: 'bob@example.org', id: 3 }]);
  });

  it('says so clearly where the site restricts the user list to admins', async () => {
    const restricted = await startSandbox({ archive: createDemoArchive(), restrictUserList: true });
    const there: Session[] = [];
    try {
      const carolThere = await connect('carol', {}, restricted.url);
      const adminThere = await connect('admin', {}, restricted.url);
      there.push(carolThere, adminThere);
      const denied = await call(carolThere.mcp, 'listUsers', {});
      expect(denied.isError).toBe(true);
      expect(textOf(denied)).toContain('Only site managers can access site-level user resources');
      expect((await callOk<Users>(adminThere.mcp, 'listUsers', {})).total).toBe(5);
    } finally {
      for (const s of there) sessions.splice(sessions.indexOf(s), 1);
      await Promise.all(there.map((s) => s.close()));
      await restricted.close();
    }
  });

  it('describes the current user: profile, site roles, whether a site admin', async () => {
    expect((await callOk<Users>(admin.mcp, 'listUsers', { scope: 'me' })).me).toMatchObject({
      login: 'admin',
      siteAdmin: true,
      roles: ['Administrator'],
    });
    expect((await callOk<Users>(carol.mcp, 'listUsers', { scope: 'me' })).me).toMatchObject({
      login: 'carol',
      name: 'Carol Castillo',
      siteAdmin: false,
      roles: [],
    });
  });

  it('shows site admins who is logged in now, with session counts but never session IDs', async () => {
    const out = await call(admin.mcp, 'listUsers', { scope: 'active' });
    const active = (out.structuredContent as { active: Array<{ login: string; sessions: number }> }).active;
    expect(active.map((a) => a.login)).toEqual(expect.arrayContaining(['admin', 'alice', 'bob', 'carol']));
    expect(active.find((a) => a.login === 'alice')?.sessions).toBeGreaterThan(0);
    const raw = (await (
      await fetch(`${sandbox.url}/xapi/users/active`, {
        headers: { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
      })
    ).json()) as Record<string, { sessions: string[] }>;
    for (const id of Object.values(raw).flatMap((a) => a.sessions)) {
      expect(textOf(out)).not.toContain(id);
      expect(JSON.stringify(out.structuredContent)).not.toContain(id);
    }
    const denied = await call(alice.mcp, 'listUsers', { scope: 'active' });
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toContain('logged-in users (site admins only) is not allowed');
  });

  it('getServerInfo explains the server: version and build, uptime, plugins, session expiry, site admin', async () => {
    const info = await callOk<Record<string, unknown>>(alice.mcp, 'getServerInfo', {});
    expect(info).toMatchObject({
      user: 'alice',
      siteAdmin: false,
      buildNumber: '8',
      plugins: ['containers 3.4.3'],
      pluginCount: 1,
      sessionIdleTimeoutSeconds: 900,
    });
    expect(info.uptime).toMatch(/^(\d+[dhm] )*\d+s$/);
    expect(Date.parse(String(info.sessionExpiresAt))).toBeGreaterThan(Date.now());
    expect((await callOk<Record<string, unknown>>(admin.mcp, 'getServerInfo', {})).siteAdmin).toBe(true);
    const text = textOf(await call(alice.mcp, 'getServerInfo', {}));
    expect(text).toContain('site admin: no');
    expect(text).toContain('plugins: 1: containers 3.4.3');
  });
});
