import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig, type ConfigInput } from '../../src/client/config.js';
import { XnatConfigError } from '../../src/client/errors.js';

function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'xnat-config-'));
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
