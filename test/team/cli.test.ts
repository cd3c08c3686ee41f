/** The team and load-balancer options of the built CLI (`dist/cli.js`, built by `npm test`). */
import { spawn } from 'node:child_process';
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

describe('team and scale-out options', () => {
  it('refuses team mode over stdio, and team mode without an XNAT URL', async () => {
    const stdio = await run(['--team'], { XNAT_URL: 'http://127.0.0.1:9' });
    expect(stdio.code).toBe(2);
    expect(stdio.stderr).toMatch(/--team needs Streamable HTTP \(--http\)/);
    const noUrl = await run(['--http', '--team', '--port', '0']);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/XNAT_URL.*team mode needs no credentials/);
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
