/**
 * The sandbox's configuration service (XNAT's ConfigResource) as the BIDS export reads it: the demo
 * project's bidsmap with `contents=true`, the configuration table, versions, site-wide entries, the
 * permission checks and `accept-not-found`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/index.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { demoBasic, resultRows } from '../sandbox/fixture.js';

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startSandbox({ archive: createDemoArchive() });
});
afterAll(async () => {
  await sb.close();
});

const as = (login: string, path: string, init: RequestInit = {}) =>
  fetch(`${sb.url}${path}`, {
    ...init,
    headers: { Authorization: demoBasic(login), ...(init.headers as Record<string, string>) },
  });

describe('configuration service', () => {
  it("answers BRAIN_MR's bidsmap as stored with contents=true, and as a table without", async () => {
    const raw = await as('bob', '/data/projects/BRAIN_MR/config/bids/bidsmap?contents=true');
    expect(raw.status).toBe(200);
    const map = (await raw.json()) as Array<{ series_description: string; bidsname: string }>;
    expect(map).toContainEqual({ series_description: 't1_mprage_sag_p2', bidsname: 'T1w' });
    expect(map.map((e) => e.series_description)).not.toContain('localizer');

    const table = await resultRows(
      await as('bob', '/data/projects/BRAIN_MR/config/bids/bidsmap?format=json'),
    );
    expect(table).toHaveLength(1);
    expect(Object.keys(table[0] ?? {})).toEqual([
      'tool',
      'path',
      'project',
      'user',
      'create_date',
      'reason',
      'contents',
      'unversioned',
      'version',
      'status',
    ]);
    expect(table[0]).toMatchObject({
      tool: 'bids',
      path: 'bidsmap',
      project: 'BRAIN_MR',
      version: '1',
      status: 'enabled',
    });
    expect(JSON.parse(table[0]?.contents ?? '')).toEqual(map);
    const tools = await resultRows(await as('bob', '/data/projects/BRAIN_MR/config?format=json'));
    expect(tools).toEqual([{ tool: 'bids' }]);
  });

  it('keeps versions: PUT answers 201 then 200, an identical PUT adds none, history lists them all', async () => {
    const url = '/data/projects/PEDS_DTI/config/bids/bidsmap';
    const first = JSON.stringify([{ series_description: 'DTI_6dir_b1000_PA', bidsname: 'dir-PA_dwi' }]);
    const second = JSON.stringify([
      { series_description: 'DTI_6dir_b1000_PA', bidsname: 'acq-6dir_dir-PA_dwi' },
    ]);
    expect((await as('carol', `${url}?inbody=true`, { method: 'PUT', body: first })).status).toBe(201);
    expect((await as('carol', `${url}?inbody=true`, { method: 'PUT', body: first })).status).toBe(200);
    const json = { 'Content-Type': 'application/json' };
    const put = await as('carol', url, {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({ contents: second }),
    });
    expect(put.status).toBe(200);
    expect(await (await as('carol', `${url}?contents=true`)).text()).toBe(second);
    expect(await (await as('carol', `${url}?contents=true&version=1`)).text()).toBe(first);
    const history = await resultRows(await as('carol', `${url}?action=getHistory&format=json`));
    expect(history.map((r) => r.version)).toEqual(['1', '2']);
    // Disabled: contents=true is 404, or 204 with accept-not-found.
    expect((await as('carol', url, { method: 'DELETE' })).status).toBe(200);
    expect((await as('carol', `${url}?contents=true`)).status).toBe(404);
    expect((await as('carol', `${url}?contents=true&accept-not-found=true`)).status).toBe(204);
  });

  it('checks rights as ConfigResource: readers read, only owners and admins write, site-wide only admins', async () => {
    const body = JSON.stringify([{ series_description: 'x', bidsname: 'T1w' }]);
    expect(
      (await as('bob', '/data/projects/BRAIN_MR/config/bids/bidsmap?inbody=true', { method: 'PUT', body }))
        .status,
    ).toBe(403);
    expect((await as('dave', '/data/projects/BRAIN_MR/config/bids/bidsmap?contents=true')).status).toBe(403);
    expect((await as('alice', '/data/projects/NOPE/config/bids/bidsmap?contents=true')).status).toBe(404);
    expect((await as('alice', '/data/config/bids/bidsmap?inbody=true', { method: 'PUT', body })).status).toBe(
      403,
    );
    expect((await as('alice', '/data/config/bids/bidsmap?contents=true')).status).toBe(404);
    expect((await as('admin', '/data/config/bids/bidsmap?inbody=true', { method: 'PUT', body })).status).toBe(
      201,
    );
    expect(await (await as('alice', '/data/config/bids/bidsmap?contents=true')).text()).toBe(body);
    // A project without its own map falls back to the site's only when asked to.
    expect((await as('bob', '/data/projects/PET_AMYLOID/config/bids/bidsmap?contents=true')).status).toBe(
      404,
    );
    const fallback = await as(
      'bob',
      '/data/projects/PET_AMYLOID/config/bids/bidsmap?contents=true&defaultToSiteWide=true',
    );
    expect(await fallback.text()).toBe(body);
    expect((await as('admin', '/data/config/bids/bidsmap', { method: 'PUT' })).status).toBe(400);
  });

  it("is read by the client core: the site's map, then the project's, which wins for the same description", async () => {
    const site = JSON.stringify([
      { series_description: 'T1_MPRAGE_SAG_P2', bidsname: 'acq-site_T1w' },
      { series_description: 'localizer', bidsname: 'acq-loc_T1w' },
    ]);
    const json = { 'Content-Type': 'application/json' };
    const put = await as('admin', '/data/config/bids/bidsmap', {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({ contents: site }),
    });
    expect(put.status).toBe(200);
    const client = new XnatClient({ url: sb.url, user: 'bob', password: 'bob123' });
    try {
      const brain = await client.readBidsmap('BRAIN_MR');
      expect(brain?.origin).toBe('XNAT bidsmap of project BRAIN_MR and the site');
      expect(brain?.entries.slice(0, 2)).toEqual(JSON.parse(site));
      expect(brain?.entries).toContainEqual({ series_description: 't1_mprage_sag_p2', bidsname: 'T1w' });
      const pet = await client.readBidsmap('PET_AMYLOID');
      expect(pet).toEqual({ entries: JSON.parse(site), origin: 'XNAT bidsmap of the site' });
      // Disabled site map, no project map: nothing to read.
      expect((await as('admin', '/data/config/bids/bidsmap', { method: 'DELETE' })).status).toBe(200);
      expect(await client.readBidsmap('PET_AMYLOID')).toBeUndefined();
    } finally {
      await client.close();
    }
  });
});
