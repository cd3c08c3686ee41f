import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig, resolveServers, type ConfigInput } from '../../src/client/config.js';
import { XnatConfigError } from '../../src/client/errors.js';

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'xnat-config-'));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function configError(fn: () => unknown): XnatConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(XnatConfigError);
    return err as XnatConfigError;
  }
  throw new Error('expected an XnatConfigError');
}

describe('resolveConfig precedence', () => {
  it('takes flags over environment over env file over netrc, and says where each came from', () => {
    const home = tempDir({ '.netrc': 'machine xnat.example.org login netrc-user password netrc-pass\n' });
    const cwd = tempDir({
      '.env': 'XNAT_URL=https://file.example.org\nXNAT_USER=file-user\nXNAT_PASSWORD=file-pass\n',
    });

    const fromFlags = resolveConfig({
      flags: { url: 'https://flag.example.org', user: 'flag-user', password: 'flag-pass' },
      env: { XNAT_URL: 'https://env.example.org', XNAT_USER: 'env-user', XNAT_PASSWORD: 'env-pass' },
      cwd,
      homeDir: home,
    });
    expect(fromFlags).toMatchObject({
      url: 'https://flag.example.org',
      user: 'flag-user',
      password: 'flag-pass',
    });
    expect(fromFlags.source).toEqual({ url: 'flag --url', user: 'flag --user', password: 'flag --password' });

    const fromEnv = resolveConfig({
      env: { XNAT_URL: 'https://env.example.org', XNAT_USER: 'env-user', XNAT_PASSWORD: 'env-pass' },
      cwd,
      homeDir: home,
    });
    expect(fromEnv).toMatchObject({ url: 'https://env.example.org', user: 'env-user', password: 'env-pass' });
    expect(fromEnv.source.user).toBe('env XNAT_USER');

    const fromFile = resolveConfig({ env: {}, cwd, homeDir: home });
    expect(fromFile).toMatchObject({
      url: 'https://file.example.org',
      user: 'file-user',
      password: 'file-pass',
    });
    expect(fromFile.source.url).toContain(join(cwd, '.env'));

    const fromNetrc = resolveConfig({
      env: { XNAT_URL: 'https://xnat.example.org/xnat/' },
      cwd: tempDir(),
      homeDir: home,
    });
    expect(fromNetrc).toMatchObject({
      url: 'https://xnat.example.org/xnat',
      user: 'netrc-user',
      password: 'netrc-pass',
    });
    expect(fromNetrc.source.password).toBe(`netrc ${join(home, '.netrc')}`);
    expect(JSON.stringify(fromNetrc.source)).not.toContain('netrc-pass');
  });

  it('mixes sources per value and never mutates process.env', () => {
    const cwd = tempDir({ '.env': 'XNAT_PASSWORD=file-pass\nXNAT_USER=file-user\n' });
    const before = { ...process.env };
    const config = resolveConfig({
      env: { XNAT_URL: 'https://x.example.org', XNAT_USER: 'env-user' },
      cwd,
      homeDir: tempDir(),
    });
    expect(config.user).toBe('env-user');
    expect(config.password).toBe('file-pass');
    expect(process.env).toEqual(before);
  });

  it('reads the env file named by XNAT_ENV_FILE or --env-file, and rejects a missing one', () => {
    const dir = tempDir({ 'xnat.env': 'XNAT_URL=named.example.org\nXNAT_USER=u\nXNAT_PASS=p\n' });
    const config = resolveConfig({
      env: { XNAT_ENV_FILE: join(dir, 'xnat.env') },
      cwd: tempDir(),
      homeDir: tempDir(),
    });
    expect(config.url).toBe('https://named.example.org');
    expect(config.password).toBe('p');
    const flagConfig = resolveConfig({
      flags: { envFile: 'xnat.env' },
      env: {},
      cwd: dir,
      homeDir: tempDir(),
    });
    expect(flagConfig.user).toBe('u');
    expect(
      configError(() => resolveConfig({ flags: { envFile: 'nope.env' }, env: {}, cwd: dir })).message,
    ).toMatch(/nope\.env.*--env-file/);
  });

  it('accepts XNAT_HOST, bare hosts, and moves user:password@ out of the URL', () => {
    const config = resolveConfig({
      env: { XNAT_HOST: 'https://alice:s%3Acret@xnat.example.org:8443/xnat' },
      cwd: tempDir(),
      homeDir: tempDir(),
    });
    expect(config.url).toBe('https://xnat.example.org:8443/xnat');
    expect(config.user).toBe('alice');
    expect(config.password).toBe('s:cret');
    expect(config.url).not.toContain('alice');
    expect(JSON.stringify(config.source)).not.toContain('s:cret');
  });

  it('takes a netrc password only for the user it belongs to', () => {
    const home = tempDir({ '.netrc': 'machine xnat.example.org login bob password bob-pass\n' });
    const withUser = (user: string): ConfigInput => ({
      env: { XNAT_URL: 'https://xnat.example.org', XNAT_USER: user },
      cwd: tempDir(),
      homeDir: home,
    });
    const error = configError(() => resolveConfig(withUser('alice')));
    expect(error.message).toMatch(/password is not set for user alice/);
    expect(error.message).not.toContain('bob-pass');
    expect(resolveConfig(withUser('bob')).password).toBe('bob-pass');
    const loginless = tempDir({ '.netrc': 'machine xnat.example.org password shared-pass\n' });
    expect(resolveConfig({ ...withUser('alice'), homeDir: loginless }).password).toBe('shared-pass');
  });

  it('refuses a badly %-encoded user:password@ in the URL without echoing it', () => {
    const error = configError(() =>
      resolveConfig({ env: { XNAT_URL: 'https://alice:s%E0cret@xnat.example.org' }, cwd: tempDir() }),
    );
    expect(error.message).toMatch(/not validly %-encoded.*XNAT_PASSWORD/);
    expect(error.message).not.toContain('cret');
  });

  it('uses the netrc default entry, NETRC, and host:port entries', () => {
    const home = tempDir({ '.netrc': 'default login anon password anonpass\n' });
    expect(
      resolveConfig({ env: { XNAT_URL: 'https://other.example.org' }, cwd: tempDir(), homeDir: home }).user,
    ).toBe('anon');
    const custom = tempDir({
      rc: 'machine h.example.org:8080 login porty password portpass\nmachine h.example.org login plain password x\n',
    });
    const config = resolveConfig({
      env: { XNAT_URL: 'http://h.example.org:8080', NETRC: join(custom, 'rc') },
      cwd: tempDir(),
      homeDir: home,
    });
    expect(config.user).toBe('porty');
  });

  it('parses TLS and timeout settings and rejects bad values with the variable name', () => {
    const dir = tempDir({ 'ca.pem': 'not really a cert' });
    const base = { XNAT_URL: 'https://x.example.org', XNAT_USER: 'u', XNAT_PASSWORD: 'p' };
    const config = resolveConfig({
      env: { ...base, XNAT_CA_FILE: 'ca.pem', XNAT_INSECURE: '1', XNAT_TIMEOUT_MS: '5000' },
      cwd: dir,
      homeDir: tempDir(),
    });
    expect(config).toMatchObject({ caFile: join(dir, 'ca.pem'), insecure: true, timeoutMs: 5000 });
    expect(resolveConfig({ env: base, cwd: dir, homeDir: tempDir() }).timeoutMs).toBe(60_000);
    expect(
      configError(() => resolveConfig({ env: { ...base, XNAT_TIMEOUT_MS: 'soon' }, cwd: dir })).message,
    ).toContain('XNAT_TIMEOUT_MS');
    expect(
      configError(() => resolveConfig({ env: { ...base, XNAT_INSECURE: 'maybe' }, cwd: dir })).message,
    ).toContain('XNAT_INSECURE');
    expect(
      configError(() => resolveConfig({ env: { ...base, XNAT_CA_FILE: 'missing.pem' }, cwd: dir })).message,
    ).toContain('XNAT_CA_FILE');
  });

  it('explains missing settings in one actionable line', () => {
    const cwd = tempDir();
    const home = tempDir();
    const missingUrl = configError(() => resolveConfig({ env: {}, cwd, homeDir: home }));
    expect(missingUrl.message).toBe(
      'XNAT URL is not set: set XNAT_URL (or pass --url, or add it to an env file)',
    );
    const missingCreds = configError(() =>
      resolveConfig({ env: { XNAT_URL: 'https://x.example.org' }, cwd, homeDir: home }),
    );
    expect(missingCreds.message).toMatch(/XNAT_USER.*XNAT_PASSWORD.*machine x\.example\.org/);
    expect(missingCreds.message).not.toContain('\n');
    const missingPassword = configError(() =>
      resolveConfig({ env: { XNAT_URL: 'https://x.example.org', XNAT_USER: 'bob' }, cwd, homeDir: home }),
    );
    expect(missingPassword.message).toMatch(/XNAT_PASSWORD/);
  });

  it('rejects URLs that are not http(s) without echoing credentials', () => {
    const err = configError(() =>
      resolveConfig({
        env: { XNAT_URL: 'ftp://u:hunter2@x.example.org', XNAT_USER: 'u', XNAT_PASSWORD: 'p' },
        cwd: tempDir(),
      }),
    );
    expect(err.message).toMatch(/https:\/\/ or http:\/\//);
    expect(err.message).not.toContain('hunter2');
    const bad = configError(() =>
      resolveConfig({ env: { XNAT_URL: 'https://u:hunter2@[bad', XNAT_USER: 'u' }, cwd: tempDir() }),
    );
    expect(bad.message).not.toContain('hunter2');
  });
});

describe('resolveServers', () => {
  it('keeps the single-server configuration as the one server "default"', () => {
    const servers = resolveServers({
      env: { XNAT_URL: 'https://a.example.org', XNAT_USER: 'u', XNAT_PASSWORD: 'p' },
      cwd: tempDir(),
      homeDir: tempDir(),
    });
    expect(servers).toHaveLength(1);
    expect(servers[0]).toMatchObject({
      name: 'default',
      config: { url: 'https://a.example.org', user: 'u' },
    });
  });

  it('reads named servers with credentials per server from env, env file and netrc', () => {
    const home = tempDir({ '.netrc': 'machine c.example.org login nu password np\n' });
    const cwd = tempDir({ '.env': 'XNAT_BACKUP_USER=fu\nXNAT_BACKUP_PASSWORD=fp\n' });
    const servers = resolveServers({
      env: {
        XNAT_URL: 'https://a.example.org',
        XNAT_USER: 'u',
        XNAT_PASSWORD: 'p',
        XNAT_MCP_SERVERS:
          'main=https://b.example.org/xnat/, backup=b2.example.org,third-one=https://c.example.org',
        XNAT_MAIN_USER: 'mu',
        XNAT_MAIN_PASS: 'mp',
        XNAT_TIMEOUT_MS: '5000',
      },
      cwd,
      homeDir: home,
    });
    expect(servers.map((s) => [s.name, s.config.url, s.config.user, s.config.password])).toEqual([
      ['default', 'https://a.example.org', 'u', 'p'],
      ['main', 'https://b.example.org/xnat', 'mu', 'mp'],
      ['backup', 'https://b2.example.org', 'fu', 'fp'],
      ['third-one', 'https://c.example.org', 'nu', 'np'],
    ]);
    expect(servers.every((s) => s.config.timeoutMs === 5000)).toBe(true);
    expect(servers[1]!.config.source).toEqual({
      url: 'env XNAT_MCP_SERVERS (main)',
      user: 'env XNAT_MAIN_USER',
      password: 'env XNAT_MAIN_PASS',
    });
    expect(servers[3]!.config.source.password).toContain('netrc');
  });

  it('needs no single server when named ones are given; the first is the default', () => {
    const servers = resolveServers({
      env: { XNAT_MCP_SERVERS: 'one=https://x:y@one.example.org' },
      cwd: tempDir(),
      homeDir: tempDir(),
    });
    expect(servers.map((s) => s.name)).toEqual(['one']);
    expect(servers[0]!.config).toMatchObject({ url: 'https://one.example.org', user: 'x', password: 'y' });
  });

  it('rejects bad names, doubles and missing credentials with the setting to fix, never a secret', () => {
    const base = { cwd: tempDir(), homeDir: tempDir() };
    expect(
      configError(() => resolveServers({ ...base, env: { XNAT_MCP_SERVERS: 'https://a' } })).message,
    ).toMatch(/name=url/);
    expect(
      configError(() =>
        resolveServers({ ...base, env: { XNAT_MCP_SERVERS: 'a=https://x:s3cret@a,A=https://x:s3cret@b' } }),
      ).message,
    ).toMatch(/twice/);
    const missing = configError(() =>
      resolveServers({ ...base, env: { XNAT_MCP_SERVERS: 'lab=https://lab.example.org' } }),
    );
    expect(missing.message).toMatch(/XNAT_LAB_USER and XNAT_LAB_PASSWORD/);
    expect(missing.message).not.toMatch(/--user/);
  });
});
