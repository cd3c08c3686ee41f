import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { basic, getAs, resultRows, startFixtureSandbox } from './fixture.js';

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startFixtureSandbox();
});
afterAll(async () => {
  await sb.close();
});

describe('user listings', () => {
  it('lists enabled users at /data/users by last name, to every user (restrictUserListAccessToAdmins is off by default)', async () => {
    for (const login of ['admin', 'alice']) {
      const response = await getAs(sb, login, '/data/users?format=json');
      expect(response.status).toBe(200);
      const rows = await resultRows(response);
      expect(Object.keys(rows[0] ?? {})).toEqual(['xdat_user_id', 'login', 'firstname', 'lastname', 'email']);
      expect(rows.map((r) => r.login)).toEqual(expect.arrayContaining(['admin', 'alice', 'bob', 'eve']));
      const lastnames = rows.map((r) => String(r.lastname));
      expect(lastnames).toEqual([...lastnames].sort());
    }
  });

  it('answers non-admins 403 with the table when the site restricts the list, as XNAT (xnatpy accepts both)', async () => {
    const restricted = await startFixtureSandbox({ restrictUserList: true });
    try {
      const response = await getAs(restricted, 'alice', '/data/users?format=json');
      expect(response.status).toBe(403);
      expect((await resultRows(response)).some((r) => r.login === 'alice')).toBe(true);
      expect((await getAs(restricted, 'admin', '/data/users?format=json')).status).toBe(200);
      expect((await getAs(restricted, 'alice', '/xapi/users')).status).toBe(403);
      expect((await getAs(restricted, 'alice', '/xapi/users/profiles')).status).toBe(403);
    } finally {
      await restricted.close();
    }
  });

  it('serves the user XAPI: logins, profiles without secrets, and roles to the user themself or an admin', async () => {
    const logins = (await (await getAs(sb, 'alice', '/xapi/users')).json()) as string[];
    expect(logins).toEqual(expect.arrayContaining(['admin', 'alice', 'bob']));
    const profiles = (await (await getAs(sb, 'alice', '/xapi/users/profiles')).json()) as Array<
      Record<string, unknown>
    >;
    expect(profiles.find((p) => p.username === 'bob')).toMatchObject({ firstName: 'Bob', enabled: true });
    for (const p of profiles) expect(Object.keys(p)).not.toEqual(expect.arrayContaining(['password']));
    const own = (await (await getAs(sb, 'alice', '/xapi/users/profile')).json()) as Record<string, unknown>;
    expect(own).toMatchObject({ username: 'alice', verified: true });
    expect(own).not.toHaveProperty('admin');
    expect(await (await getAs(sb, 'admin', '/xapi/users/admin/roles')).json()).toEqual(['Administrator']);
    expect(await (await getAs(sb, 'alice', '/xapi/users/alice/roles')).json()).toEqual([]);
    expect(await (await getAs(sb, 'admin', '/xapi/users/alice/roles')).json()).toEqual([]);
    const denied = await getAs(sb, 'alice', '/xapi/users/admin/roles');
    expect(denied.status).toBe(403);
    expect(await denied.text()).toBe(''); // XAPI's InsufficientPrivilegesException: no body
    expect((await getAs(sb, 'alice', '/xapi/users/active')).status).toBe(403);
    const active = (await (await getAs(sb, 'admin', '/xapi/users/active')).json()) as Record<
      string,
      { sessions: string[]; count: number }
    >;
    expect(active.alice).toMatchObject({ count: expect.any(Number) });
    expect(active.alice?.sessions).toHaveLength(active.alice?.count ?? -1);
  });

  it("lists a project's users with their group for owners and admins", async () => {
    for (const login of ['alice', 'admin']) {
      const response = await getAs(sb, login, '/data/projects/PROT/users?format=json');
      expect(response.status).toBe(200);
      expect(await resultRows(response)).toEqual([
        {
          GROUP_ID: 'PROT_owner',
          displayname: 'Owners',
          login: 'alice',
          firstname: 'Alice',
          lastname: 'Tester',
          email: 'alice@example.org',
        },
        {
          GROUP_ID: 'PROT_collaborator',
          displayname: 'Collaborators',
          login: 'bob',
          firstname: 'Bob',
          lastname: 'Tester',
          email: 'bob@example.org',
        },
      ]);
    }
  });

  it('lists custom groups with the default ones, by group ID descending', async () => {
    const project = sb.archive.projects.get('PROT');
    if (!project) throw new Error('no PROT');
    project.groups = [{ id: 'PROT_qc', displayname: 'QC Raters', rights: 'collaborator', members: ['eve'] }];
    try {
      const rows = await resultRows(await getAs(sb, 'alice', '/data/projects/PROT/users?format=json'));
      expect(rows.map((r) => [r.GROUP_ID, r.displayname, r.login])).toEqual([
        ['PROT_qc', 'QC Raters', 'eve'],
        ['PROT_owner', 'Owners', 'alice'],
        ['PROT_collaborator', 'Collaborators', 'bob'],
      ]);
      // A custom group's members read the project's data; they may not list its users.
      expect((await getAs(sb, 'eve', '/data/projects/PROT/users?format=json')).status).toBe(403);
      expect((await getAs(sb, 'eve', '/data/projects/PROT/subjects?format=json')).status).toBe(200);
    } finally {
      delete project.groups;
    }
  });

  it('answers non-owners 403 and unknown projects 404', async () => {
    const collaborator = await getAs(sb, 'bob', '/data/projects/PROT/users?format=json');
    expect(collaborator.status).toBe(403);
    const missing = await getAs(sb, 'alice', '/data/projects/NOPE/users?format=json');
    expect(missing.status).toBe(404);
    // Looked up as the caller: another user's private project is not found.
    expect((await getAs(sb, 'alice', '/data/projects/EVEPRIV/users?format=json')).status).toBe(404);
    expect(await missing.text()).toContain('The project ID NOPE does not appear to be a valid project ID.');
  });
});

describe('project membership changes (ProjectMemberResource)', () => {
  const change = (login: string, method: 'PUT' | 'DELETE', path: string): Promise<Response> =>
    fetch(`${sb.url}/data/projects/${path}?format=json`, {
      method,
      headers: { Authorization: basic(login) },
    });
  const roleOf = async (project: string, login: string): Promise<string | undefined> => {
    const rows = await resultRows(await getAs(sb, 'admin', `/data/projects/${project}/users?format=json`));
    return rows.find((r) => r.login === login)?.displayname;
  };

  it('adds a user to a group named by display name, group ID or role, answering the users table', async () => {
    const added = await change('alice', 'PUT', 'OPEN/users/Collaborators/eve');
    expect(added.status).toBe(200);
    expect((await resultRows(added)).find((r) => r.login === 'eve')?.GROUP_ID).toBe('OPEN_collaborator');
    expect((await change('alice', 'PUT', 'OPEN/users/OPEN_member/eve')).status).toBe(200);
    expect(await roleOf('OPEN', 'eve')).toBe('Members');
    expect((await change('admin', 'PUT', 'OPEN/users/owner/eve@example.org')).status).toBe(200);
    expect(await roleOf('OPEN', 'eve')).toBe('Owners');
  });

  it('removes a user from the group they are in', async () => {
    const removed = await change('alice', 'DELETE', 'OPEN/users/Owners/eve');
    expect(removed.status).toBe(200);
    expect((await resultRows(removed)).some((r) => r.login === 'eve')).toBe(false);
    expect(await roleOf('OPEN', 'eve')).toBeUndefined();
  });

  it('moves a user between default and custom groups (one group of a project at a time)', async () => {
    const project = sb.archive.projects.get('OPEN');
    if (!project) throw new Error('no OPEN');
    project.groups = [{ id: 'OPEN_qc', displayname: 'QC Raters', rights: 'collaborator', members: [] }];
    try {
      expect((await change('alice', 'PUT', 'OPEN/users/Members/eve')).status).toBe(200);
      expect((await change('alice', 'PUT', 'OPEN/users/qc/eve')).status).toBe(200);
      expect(await roleOf('OPEN', 'eve')).toBe('QC Raters');
      const rows = await resultRows(await getAs(sb, 'admin', '/data/projects/OPEN/users?format=json'));
      expect(rows.filter((r) => r.login === 'eve')).toHaveLength(1);
      expect((await change('alice', 'DELETE', 'OPEN/users/QC%20Raters/eve')).status).toBe(200);
      expect(await roleOf('OPEN', 'eve')).toBeUndefined();
    } finally {
      delete project.groups;
    }
  });

  it('answers 404 for an unknown group, project or (removing) account, 403 to non-owners', async () => {
    expect((await change('alice', 'DELETE', 'OPEN/users/s/alice')).status).toBe(404);
    expect((await change('alice', 'PUT', 'OPEN/users/Reviewers/bob')).status).toBe(404);
    expect((await change('alice', 'DELETE', 'OPEN/users/Owners/nobody')).status).toBe(404);
    expect((await change('admin', 'PUT', 'NOPE/users/Owners/bob')).status).toBe(404);
    expect((await change('bob', 'PUT', 'PROT/users/Owners/bob')).status).toBe(403);
    expect(await roleOf('PROT', 'bob')).toBe('Collaborators');
  });
});
