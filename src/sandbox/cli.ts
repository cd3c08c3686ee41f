/**
 * `xnat-mcp sandbox [--port N] [--host H] [--context-path /xnat] [--session-timeout S]
 * [--generate-experiments N]`: runs the sandbox until SIGTERM/SIGINT. The base URL is the first line
 * on stdout (scripts read it); the seeded users go to stderr.
 */
import { parseArgs } from 'node:util';
import { startSandbox, type SandboxOptions } from './server.js';

const USAGE = `Usage: xnat-mcp sandbox [options]

Runs the embedded XNAT sandbox and prints its base URL on the first line of stdout.

Options:
  --port N                   port to listen on (default: an ephemeral port)
  --host H                   interface to bind (default: 127.0.0.1)
  --context-path PATH        deploy under a path, e.g. /xnat (default: none)
  --session-timeout S        idle timeout of JSESSIONs in seconds (default: 900)
  --generate-experiments N   serve a generated archive of N MR sessions instead of the demo archive
  --help                     show this help
`;

/** A usage problem: printed as one line on stderr, exit code 2. */
class UsageError extends Error {}

function usageError(message: string): UsageError {
  return new UsageError(`${message} (see xnat-mcp sandbox --help)`);
}

function positiveInteger(name: string, value: string | undefined, allowZero = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
    throw usageError(
      `--${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got "${value}"`,
    );
  }
  return n;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/**
 * Runs the sandbox CLI; resolves with the exit code once the server stopped after a signal (0), or
 * at once for a usage error (2, reported on stderr).
 */
export async function runSandboxCli(argv: string[]): Promise<number> {
  try {
    await run(argv);
    return 0;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`xnat-mcp sandbox: ${error.message}\n`);
    return 2;
  }
}

async function run(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'context-path': { type: 'string' },
        'session-timeout': { type: 'string' },
        'generate-experiments': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (error) {
    throw usageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const options: SandboxOptions = {};
  const port = positiveInteger('port', values.port, true);
  const timeout = positiveInteger('session-timeout', values['session-timeout']);
  const experiments = positiveInteger('generate-experiments', values['generate-experiments'], true);
  if (port !== undefined) options.port = port;
  if (timeout !== undefined) options.sessionTimeoutSeconds = timeout;
  if (values.host !== undefined) options.host = values.host;
  if (values['context-path'] !== undefined) options.contextPath = values['context-path'];
  // Generated archives are test tooling: loaded only when asked for.
  if (experiments !== undefined)
    options.archive = (await import('./generate.js')).generateArchive({ experiments });

  const sandbox = await startSandbox(options);
  process.stdout.write(`${sandbox.url}\n`);
  const users = sandbox.archive.users.map(
    (u) => `  ${u.login} / ${u.password}${u.admin ? ' (site admin)' : ''}`,
  );
  process.stderr.write(
    `XNAT sandbox running at ${sandbox.url}\nUsers:\n${users.join('\n')}\nStop with Ctrl-C.\n`,
  );
  await untilSignal();
  await sandbox.close();
}
