/** The team and load-balancer options of the built CLI (`dist/cli.js`, built by `npm test`). */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: import.meta.dirname, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts the CLI, waits until stderr matches `ready`, then stops it; its stderr so far. */
function runUntil(args: string[], ready: RegExp): Promise<{ stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: import.meta.dirname },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      if (ready.test(stderr)) child.kill('SIGTERM');
    });
    child.on('exit', () =>
      ready.test(stderr) ? resolve({ stderr }) : reject(new Error(`exited early: ${stderr}`)),
    );
  });
}

describe('team and scale-out options', () => {
  it('refuses team mode over stdio, and team mode without an XNAT URL', async () => {
    const stdio = await run(['--team'], { XNAT_URL: 'http://127.0.0.1:9' });
    expect(stdio.code).toBe(2);
    expect(stdio.stderr).toMatch(/--team needs Streamable HTTP \(--http\)/);
    const noUrl = await run(['--http', '--team', '--port', '0']);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/XNAT_URL.*team mode needs no credentials/);
  });

  it("takes XNAT's URL from an env file like any configuration, and says it ignores the credentials there", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnat-team-env-'));
    try {
      const envFile = join(dir, 'team.env');
      writeFileSync(envFile, 'XNAT_URL=http://127.0.0.1:9\nXNAT_USER=u\nXNAT_PASSWORD=p\n');
      const started = await runUntil(
        ['--http', '--team', '--port', '0', '--env-file', envFile],
        /listening on http:\/\/127\.0\.0\.1:\d+\/mcp in team mode/,
      );
      expect(started.stderr).toMatch(/Team mode ignores XNAT_USER\/XNAT_PASSWORD/);
      expect(started.stderr).not.toContain('XNAT URL is not set');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a malformed instance ID', async () => {
    const bad = await run(['--http', '--instance-id', 'a.b', '--port', '0'], {
      XNAT_URL: 'http://127.0.0.1:9',
      XNAT_USER: 'u',
      XNAT_PASSWORD: 'p',
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/instance ID must be 1 to 32 letters/);
  });

  it('prints nginx config that routes each instance prefix to its process', async () => {
    const config = await run([
      'nginx-config',
      '--instance',
      'a=127.0.0.1:3331',
      '--instance',
      'b=127.0.0.1:3332',
      '--listen',
      '8080',
    ]);
    expect(config.code).toBe(0);
    expect(config.stdout).toContain('"~^a\\." xnat_mcp_a;');
    expect(config.stdout).toContain('"~^/connect/b\\." xnat_mcp_b;');
    expect(config.stdout).toContain('return 404');
    const none = await run(['nginx-config']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/at least one --instance/);
  });
});
