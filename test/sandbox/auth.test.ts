import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { basic, cookiesOf, getAs, startFixtureSandbox } from './fixture.js';

let sandbox: RunningSandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

async function start(options: Parameters<typeof startFixtureSandbox>[0] = {}): Promise<RunningSandbox> {
  sandbox = await startFixtureSandbox(options);
  return sandbox;
}

function jsessionOf(response: Response): string {
  const line = cookiesOf(response).get('JSESSIONID') ?? '';
  return /^JSESSIONID=([^;]+)/.exec(line)?.[1] ?? '';
}

describe('sandbox authentication', () => {
  it('creates a session from Basic credentials and sets the cookies XNAT sets', async () => {
    const sb = await start();
    const response = await getAs(sb, 'alice', '/data/projects?format=json');
    expect(response.status).toBe(200);
    const cookies = cookiesOf(response);
    expect(cookies.get('JSESSIONID')).toMatch(/^JSESSIONID=[0-9A-F]{32}; Path=\/; HttpOnly$/);
    expect(cookies.get('SESSION_EXPIRATION_TIME')).toMatch(
      /^SESSION_EXPIRATION_TIME="\d{13},900000"; Path=\/$/,
    );
    expect(sb.stats.logins).toBe(1);
    expect(sb.stats.sessionsCreated).toBe(1);
  });

  it('returns the session id from /data/JSESSION and reuses it through the cookie', async () => {
    const sb = await start();
    const login = await fetch(`${sb.url}/data/JSESSION`, {
      method: 'POST',
      headers: { Authorization: basic('alice') },
    });
    expect(login.status).toBe(200);
    expect(login.headers.get('content-type')).toMatch(/^text\/plain/);
    const id = await login.text();
    expect(id).toBe(jsessionOf(login));

    const reuse = await fetch(`${sb.url}/data/auth`, { headers: { Cookie: `JSESSIONID=${id}` } });
    expect(reuse.status).toBe(200);
    expect(await reuse.text()).toBe("User 'alice' is logged in");
    expect(cookiesOf(reuse).has('JSESSIONID')).toBe(false);
    expect(cookiesOf(reuse).has('SESSION_EXPIRATION_TIME')).toBe(true);

    // Basic for the same user plus the cookie does not authenticate again (Spring skips it).
    const both = await fetch(`${sb.url}/data/auth`, {
      headers: { Cookie: `JSESSIONID=${id}`, Authorization: basic('alice') },
    });
    expect(both.status).toBe(200);
    expect(sb.stats.logins).toBe(1);

    const get = await fetch(`${sb.url}/data/JSESSION`, { headers: { Cookie: `JSESSIONID=${id}` } });
    expect(await get.text()).toBe(id);
    expect(sb.stats.requests).toBe(4);
  });

  it('invalidates the session on DELETE /data/JSESSION', async () => {
    const sb = await start();
    const id = await (
      await fetch(`${sb.url}/data/JSESSION`, { method: 'POST', headers: { Authorization: basic('bob') } })
    ).text();
    const logout = await fetch(`${sb.url}/data/JSESSION`, {
      method: 'DELETE',
      headers: { Cookie: `JSESSIONID=${id}` },
    });
    expect(logout.status).toBe(200);
    expect(await logout.text()).toBe('');
    const after = await fetch(`${sb.url}/data/projects`, { headers: { Cookie: `JSESSIONID=${id}` } });
    expect(after.status).toBe(401);
  });

  it('expires idle sessions and treats them as unauthenticated', async () => {
    const sb = await start({ sessionTimeoutSeconds: 1 });
    const id = await (
      await fetch(`${sb.url}/data/JSESSION`, { method: 'POST', headers: { Authorization: basic('alice') } })
    ).text();
    const fresh = await fetch(`${sb.url}/data/auth`, { headers: { Cookie: `JSESSIONID=${id}` } });
    expect(fresh.status).toBe(200);
    expect(cookiesOf(fresh).get('SESSION_EXPIRATION_TIME')).toMatch(/,1000"/);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const expired = await fetch(`${sb.url}/data/auth`, { headers: { Cookie: `JSESSIONID=${id}` } });
    expect(expired.status).toBe(401);
  });

  it('invalidates every session on expireSessions()', async () => {
    const sb = await start();
    const id = await (
      await fetch(`${sb.url}/data/JSESSION`, { method: 'POST', headers: { Authorization: basic('alice') } })
    ).text();
    sb.expireSessions();
    expect((await fetch(`${sb.url}/data/auth`, { headers: { Cookie: `JSESSIONID=${id}` } })).status).toBe(
      401,
    );
  });

  it('answers 401 with a Basic challenge and a Tomcat page to non-browser clients', async () => {
    const sb = await start();
    const attempts: Array<Record<string, string>> = [
      {},
      { Authorization: basic('alice', 'wrong') },
      { Authorization: basic('mallory') },
    ];
    for (const headers of attempts) {
      const response = await fetch(`${sb.url}/data/projects?format=json`, { headers });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Basic realm="XNAT"');
      const body = await response.text();
      expect(body).toMatch(/^<!doctype html>/);
      expect(body).toContain('<title>HTTP Status 401 – Unauthorized</title>');
      expect(body).not.toContain('wrong');
    }
    expect(sb.stats.logins).toBe(0);
  });

  it('redirects browsers to the login page instead', async () => {
    const sb = await start({ contextPath: '/xnat' });
    const response = await fetch(`${sb.url}/data/projects`, {
      headers: { 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36' },
      redirect: 'manual',
    });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`${sb.url}/app/template/Login.vm`);
    const desktop = await fetch(`${sb.url}/data/projects`, {
      headers: { 'User-Agent': 'Mozilla/5.0 XNATDesktopClient/3.2.5' },
      redirect: 'manual',
    });
    expect(desktop.status).toBe(401);
  });

  it('refuses logins over the per-user session cap', async () => {
    const sb = await start({ maxSessionsPerUser: 2 });
    expect((await getAs(sb, 'alice', '/data/auth')).status).toBe(200);
    expect((await getAs(sb, 'alice', '/data/auth')).status).toBe(200);
    expect((await getAs(sb, 'alice', '/data/auth')).status).toBe(401);
    expect((await getAs(sb, 'bob', '/data/auth')).status).toBe(200);
    expect(sb.stats.sessionsCreated).toBe(3);
  });

  it('logs in with the form service /data/services/auth', async () => {
    const sb = await start();
    const ok = await fetch(`${sb.url}/data/services/auth`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=alice-pw',
    });
    expect(ok.status).toBe(200);
    const id = await ok.text();
    expect(id).toBe(jsessionOf(ok));
    expect((await fetch(`${sb.url}/data/auth`, { headers: { Cookie: `JSESSIONID=${id}` } })).status).toBe(
      200,
    );
    const bad = await fetch(`${sb.url}/data/services/auth`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=nope',
    });
    expect(bad.status).toBe(401);
    expect(await bad.text()).toContain('<h3>Authentication failed.</h3>');
  });

  it('issues alias tokens that work as Basic credentials until invalidated', async () => {
    const sb = await start();
    const issued = await getAs(sb, 'alice', '/data/services/tokens/issue');
    expect(issued.status).toBe(200);
    const token = (await issued.json()) as Record<string, unknown>;
    expect(token).toMatchObject({
      xdatUserId: 'alice',
      enabled: true,
      singleUse: false,
      validIPAddresses: [],
    });
    expect(token.alias).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof token.estimatedExpirationTime).toBe('number');
    const credentials = `Basic ${Buffer.from(`${String(token.alias)}:${String(token.secret)}`).toString('base64')}`;

    const asToken = await fetch(`${sb.url}/data/auth`, { headers: { Authorization: credentials } });
    expect(await asToken.text()).toBe("User 'alice' is logged in");
    const privateProject = await fetch(`${sb.url}/data/projects/PRIV?format=json`, {
      headers: { Authorization: credentials },
    });
    expect(privateProject.status).toBe(200);

    const valid = await getAs(
      sb,
      'bob',
      `/data/services/tokens/validate/${String(token.alias)}/${String(token.secret)}`,
    );
    expect(await valid.json()).toEqual({ valid: 'alice' });
    const invalid = await getAs(sb, 'bob', `/data/services/tokens/validate/${String(token.alias)}/nope`);
    expect(await invalid.json()).toEqual({ valid: null });

    expect((await getAs(sb, 'bob', `/data/services/tokens/invalidate/${String(token.alias)}`)).status).toBe(
      403,
    );
    const done = await getAs(sb, 'alice', `/data/services/tokens/invalidate/${String(token.alias)}`);
    expect(await done.json()).toEqual({ result: 'OK' });
    expect((await fetch(`${sb.url}/data/auth`, { headers: { Authorization: credentials } })).status).toBe(
      401,
    );

    expect((await getAs(sb, 'alice', '/data/services/tokens/issue/user/bob')).status).toBe(403);
    expect((await getAs(sb, 'admin', '/data/services/tokens/issue/user/bob')).status).toBe(200);
    expect((await getAs(sb, 'alice', '/data/services/tokens/frobnicate')).status).toBe(400);
    expect((await getAs(sb, 'alice', '/data/services/tokens/invalidate/unknown-alias')).status).toBe(404);
  });

  it('keeps token secrets out of the request log', async () => {
    const lines: string[] = [];
    const sb = await start({ log: (line) => lines.push(line) });
    const token = (await (await getAs(sb, 'alice', '/data/services/tokens/issue')).json()) as {
      alias: string;
      secret: string;
    };
    await getAs(sb, 'alice', `/data/services/tokens/validate/${token.alias}/${token.secret}`);
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).not.toContain(token.secret);
    expect(lines.join('\n')).not.toContain('alice-pw');
  });

  it('serves the open XAPI URLs without authentication and identity endpoints with it', async () => {
    const sb = await start({ version: '1.8.9' });
    const info = await fetch(`${sb.url}/xapi/siteConfig/buildInfo`);
    expect(info.status).toBe(200);
    const body = (await info.json()) as Record<string, unknown>;
    expect(body.version).toBe('1.8.9');
    for (const value of Object.values(body)) expect(typeof value).toBe('string');
    expect(await (await fetch(`${sb.url}/xapi/siteConfig/siteId`)).text()).toBe('XNAT');
    expect((await fetch(`${sb.url}/xapi/users/username`)).status).toBe(401);
    expect(await (await getAs(sb, 'bob', '/xapi/users/username')).text()).toBe('bob');
    expect(await (await getAs(sb, 'bob', '/xapi/users/profile')).json()).toMatchObject({
      username: 'bob',
      id: 3,
    });
    expect((await getAs(sb, 'bob', '/data/version')).status).toBe(404);
  });
});

describe('guest access (requireLogin=false)', () => {
  it('serves anonymous requests as the guest user, who reads public projects only', async () => {
    const sb = await start({ guestAccess: true });
    const auth = await fetch(`${sb.url}/data/auth`);
    expect(auth.status).toBe(200);
    expect(await auth.text()).toBe("User 'guest' is logged in");
    const projects = await fetch(`${sb.url}/data/projects?format=json`);
    expect(projects.status).toBe(200);
    const ids = (
      (await projects.json()) as { ResultSet: { Result: Array<{ ID: string }> } }
    ).ResultSet.Result.map((p) => p.ID);
    expect(ids.sort()).toEqual(['OPEN', 'PROT']);
    expect((await fetch(`${sb.url}/data/projects/OPEN/subjects?format=json`)).status).toBe(200);
    expect((await fetch(`${sb.url}/data/projects/PRIV/subjects?format=json`)).status).toBe(404);
    expect((await fetch(`${sb.url}/data/services/tokens/issue`)).status).toBe(403);
    const session = await fetch(`${sb.url}/data/JSESSION`);
    expect(session.status).toBe(200);
    expect(await session.text()).toMatch(/^[0-9A-F]{32}$/);
  });

  it("shows Guest in the home page's user_info, and a logged-in user's name there", async () => {
    const sb = await start({ guestAccess: true });
    expect(await (await fetch(`${sb.url}/`)).text()).toContain(
      '<span id="user_info">Logged in as: <span style="color:red;">Guest</span>',
    );
    expect(await (await getAs(sb, 'alice', '/')).text()).toMatch(
      /<span id="user_info">Logged in as: &nbsp;<a id="username-link" href="[^"]+">alice<\/a>/,
    );
  });

  it('still rejects bad credentials with 401, and is off by default', async () => {
    const sb = await start({ guestAccess: true });
    const bad = await fetch(`${sb.url}/data/projects`, {
      headers: { Authorization: basic('alice', 'wrong') },
    });
    expect(bad.status).toBe(401);
    await sb.close();
    sandbox = await startFixtureSandbox();
    expect((await fetch(`${sandbox.url}/data/projects`)).status).toBe(401);
  });
});
