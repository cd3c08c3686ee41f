import { afterEach, describe, expect, it } from 'vitest';
import { createDemoArchive, type RunningSandbox } from '../../src/sandbox/index.js';
import { basic, cookiesOf, getAs, resultRows, startFixtureSandbox } from './fixture.js';
import { startSandbox } from '../../src/sandbox/index.js';

let sandbox: RunningSandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

describe('sandbox URL space and error pages', () => {
  it('serves /data, /REST and /data/archive identically', async () => {
    sandbox = await startFixtureSandbox();
    const bodies = await Promise.all(
      ['/data/projects?format=json', '/REST/projects?format=json', '/data/archive/projects?format=json'].map(
        async (path) => (await getAs(sandbox as RunningSandbox, 'alice', path)).text(),
      ),
    );
    expect(new Set(bodies).size).toBe(1);
  });

  it('answers unknown /data paths with the Restlet status page and others with Tomcat pages', async () => {
    sandbox = await startFixtureSandbox();
    const restlet = await getAs(sandbox, 'alice', '/data/nothing/here');
    expect(restlet.status).toBe(404);
    expect(restlet.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await restlet.text()).toMatch(
      /^<html>\n<head>\n {3}<title>Status page<\/title>\n<\/head>\n<body>\n<h3>The server has not found anything matching the request URI<\/h3>/,
    );
    const xapi = await getAs(sandbox, 'alice', '/xapi/nothing');
    expect(xapi.status).toBe(404);
    expect(await xapi.text()).toContain('<title>HTTP Status 404 – Not Found</title>');
  });

  it('answers 405 for methods a resource does not support', async () => {
    sandbox = await startFixtureSandbox();
    const response = await fetch(`${sandbox.url}/data/projects`, {
      method: 'DELETE',
      headers: { Authorization: basic('alice') },
    });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, POST');
    expect(await response.text()).toContain('<h3>');
  });

  it('runs under a context path, with cookies scoped to it', async () => {
    sandbox = await startFixtureSandbox({ contextPath: '/xnat/' });
    expect(sandbox.url).toBe(`http://127.0.0.1:${sandbox.port}/xnat`);
    const response = await getAs(sandbox, 'alice', '/data/projects?format=json');
    expect(response.status).toBe(200);
    expect(cookiesOf(response).get('JSESSIONID')).toMatch(/; Path=\/xnat\/; HttpOnly$/);
    const outside = await fetch(`http://127.0.0.1:${sandbox.port}/data/projects`, {
      headers: { Authorization: basic('alice') },
    });
    expect(outside.status).toBe(404);
    expect(await outside.text()).toContain('HTTP Status 404');
    const missing = await getAs(sandbox, 'alice', '/data/experiments/NOPE');
    expect(await missing.text()).toContain('<a href="/xnat/">home page</a>');
  });

  it('lists the installed plugins at /xapi/plugins (with or without a trailing slash), as XnatPluginApi does', async () => {
    sandbox = await startFixtureSandbox();
    for (const path of ['/xapi/plugins', '/xapi/plugins/']) {
      const response = await getAs(sandbox, 'alice', path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const plugins = (await response.json()) as Record<
        string,
        { id: string; name: string; version: string }
      >;
      expect(Object.keys(plugins).length).toBeGreaterThan(0);
      for (const [id, plugin] of Object.entries(plugins)) {
        expect(plugin).toMatchObject({ id, name: expect.any(String), version: expect.any(String) });
      }
    }
    const one = await getAs(sandbox, 'alice', '/xapi/plugins/containers');
    expect(((await one.json()) as { pluginClass: string }).pluginClass).toMatch(/ContainersConfig$/);
    const missing = await getAs(sandbox, 'alice', '/xapi/plugins/nope');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('No plugin with ID nope');
    expect((await fetch(`${sandbox.url}/xapi/plugins`)).status).toBe(401);
  });

  it('counts every request', async () => {
    sandbox = await startFixtureSandbox();
    await fetch(`${sandbox.url}/xapi/siteConfig/buildInfo`);
    await fetch(`${sandbox.url}/data/projects`);
    await getAs(sandbox, 'alice', '/data/projects');
    expect(sandbox.stats).toEqual({ requests: 3, logins: 1, sessionsCreated: 1 });
  });
});

describe('sandbox over the demo archive', () => {
  it('serves the seeded projects, subjects and a file', async () => {
    sandbox = await startSandbox({ archive: createDemoArchive() });
    const admin = sandbox.archive.users.find((u) => u.admin);
    const asAdmin = (path: string) =>
      fetch(`${(sandbox as RunningSandbox).url}${path}`, {
        headers: { Authorization: basic(admin?.login ?? '', admin?.password) },
      });
    const projects = await resultRows(await asAdmin('/data/projects?format=json'));
    expect(projects.length).toBeGreaterThan(0);
    const archive = sandbox.archive;
    for (const project of projects) {
      const subjects = await resultRows(await asAdmin(`/data/projects/${project.ID}/subjects?format=json`));
      const owned = [...archive.subjects.values()].filter(
        (s) => s.project === project.ID || s.shares.some((share) => share.project === project.ID),
      );
      expect(subjects.map((s) => s.ID).sort()).toEqual(owned.map((s) => s.id).sort());
    }
    const session = [...archive.experiments.values()].find((e) =>
      e.scans.some((s) => s.resources.length > 0),
    );
    expect(session).toBeDefined();
    const files = await resultRows(
      await asAdmin(`/data/experiments/${session?.id}/scans/ALL/files?format=json`),
    );
    const first = files[0];
    expect(first).toBeDefined();
    const download = await asAdmin(first?.URI ?? '');
    expect(download.status).toBe(200);
    expect(String((await download.arrayBuffer()).byteLength)).toBe(first?.Size);
  });
});
