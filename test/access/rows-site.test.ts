/** rows-site.ts: XNAT's people and site answers into models, including shapes other XNAT versions send. */
import { describe, expect, it } from 'vitest';
import { XnatProtocolError } from '../../src/client/errors.js';
import {
  parseActiveUsers,
  parsePlugins,
  parseProfile,
  parseRoles,
  parseUptime,
  toProjectMember,
  toSiteUser,
} from '../../src/client/rows-site.js';

const edge = { method: 'GET', path: '/xapi/test' };

describe('site answers', () => {
  it("reads uptime as XnatAppInfo's map of strings, and as numbers", () => {
    expect(parseUptime('{"days":"1","hours":"2","minutes":"3","seconds":"4"}', edge)).toBe(93_784);
    expect(parseUptime('{"days":0,"hours":0,"minutes":1,"seconds":5.9}', edge)).toBe(65);
    expect(() => parseUptime('{"days":"soon"}', edge)).toThrow(XnatProtocolError);
  });

  it('reads plugins by ID, in ID order, with or without a version', () => {
    const body = JSON.stringify({
      xnatx: { id: 'xnatx', name: 'XNATX', pluginClass: 'x.X' },
      containers: { id: 'containers', name: 'containers', version: '3.4.3', entityPackages: [] },
      bare: {},
    });
    expect(parsePlugins(body, edge)).toEqual([
      { id: 'bare', name: 'bare' },
      { id: 'containers', name: 'containers', version: '3.4.3' },
      { id: 'xnatx', name: 'XNATX' },
    ]);
  });

  it("reads a profile (XNAT's User bean) and a user's roles", () => {
    const profile = parseProfile(
      JSON.stringify({
        id: 2,
        username: 'alice',
        firstName: 'Alice',
        lastName: 'Andersen',
        email: 'alice@example.org',
        enabled: true,
        verified: true,
        secured: true,
        lastSuccessfulLogin: Date.UTC(2024, 0, 2, 3, 4, 5),
      }),
      edge,
    );
    expect(profile).toEqual({
      login: 'alice',
      id: 2,
      firstname: 'Alice',
      lastname: 'Andersen',
      email: 'alice@example.org',
      lastLogin: '2024-01-02T03:04:05.000Z',
    });
    expect(parseProfile('{"username":"guest","firstName":null}', edge)).toEqual({ login: 'guest' });
    expect(parseRoles('["Administrator","Non-Expiring"]', edge)).toEqual(['Administrator', 'Non-Expiring']);
    expect(() => parseRoles('{"roles":[]}', edge)).toThrow(XnatProtocolError);
  });

  it('keeps session counts of active users and drops their session IDs', () => {
    const body = JSON.stringify({
      bob: { sessions: ['8F1D', '9A2C'], count: 2 },
      alice: { sessions: ['77AA'], count: 1 },
    });
    const active = parseActiveUsers(body, edge);
    expect(active).toEqual([
      { login: 'alice', sessions: 1 },
      { login: 'bob', sessions: 2 },
    ]);
    expect(JSON.stringify(active)).not.toContain('8F1D');
  });
});

describe('user rows', () => {
  it('tells the default groups from custom ones by group ID and display name', () => {
    const row = (GROUP_ID: string, displayname: string) => ({
      GROUP_ID,
      displayname,
      login: 'x',
      firstname: 'X',
      lastname: 'Y',
      email: 'x@example.org',
    });
    expect(toProjectMember(row('P_owner', 'Owners'))).toMatchObject({ role: 'owner', groupName: 'Owners' });
    expect(toProjectMember(row('P_collaborator', 'Collaborators')).role).toBe('collaborator');
    expect(toProjectMember(row('P_readers', 'Image Readers'))).toMatchObject({
      role: 'custom',
      group: 'P_readers',
    });
    // A custom group whose name happens to end like a default one is still custom.
    expect(toProjectMember(row('P_co_owner', 'Co-owners')).role).toBe('custom');
  });

  it('reads /data/users rows', () => {
    expect(
      toSiteUser({
        xdat_user_id: '7',
        login: 'dave',
        firstname: 'Dave',
        lastname: 'Dubois',
        email: 'd@x.org',
      }),
    ).toEqual({ id: 7, login: 'dave', firstname: 'Dave', lastname: 'Dubois', email: 'd@x.org' });
  });
});
