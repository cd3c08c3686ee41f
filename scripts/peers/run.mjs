#!/usr/bin/env node
/**
 * `npm run test:peers`: the XNAT clients' own test suites, written by their authors against real XNAT
 * servers, run against the sandbox. For each suite: a fresh sandbox, the data the suite expects
 * seeded through the REST API (seed.mjs), its server URLs redirected to the sandbox by a pytest
 * plugin (sandbox_redirect.py) and config files written to a temp folder, so the suite's code is
 * run as published. Tests that need what no sandbox can have are deselected by name, with their
 * reason, from expected-unsupported.json, and printed.
 *
 * Suites: Debian's python3-pyxnat (always); pyxnat's source tree when PYXNAT_SRC names its tests
 * folder (…/pyxnat/pyxnat/tests); xnatpy's when XNATPY_SRC names its checkout (with conftest.py)
 * and XNAT4TESTS_SRC a checkout of xnat4tests. Prints `N passed, N failed` last; exits 1 on failures.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { seeders } from './seed.mjs';

const say = (line) => process.stdout.write(`${line}\n`);
const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const PYTHON = '/usr/bin/python3';
/** The account pyxnat's suites log in as (their central.cfg); XNAT central had it, the sandbox gets it. */
const SUITE_USER = { login: 'nosetests', password: 'nose' };

function pyxnatSuite(name, testsDir, pythonPath) {
  return {
    name,
    testsDir,
    cwd: null,
    pythonPath,
    seed: seeders.pyxnat,
    // central.xnat.org, NITRC IR and pyxnat's Docker XNAT (http://localhost) are all the sandbox.
    redirect: ['https://central.xnat.org', 'https://www.nitrc.org/ir', 'http://localhost'],
    // Our own ini instead of pyxnat's setup.cfg, whose addopts need pytest-cov; Debian 1.5 names
    // some files *_tests.py, which pytest's default patterns would not collect.
    ini: '[pytest]\npython_files = *_test.py *_tests.py test_*.py\n',
    args: [],
    configs: (url) => {
      const login = { user: SUITE_USER.login, password: SUITE_USER.password };
      return {
        // Read from the working directory: pyxnat's Docker XNAT (admin), XNAT central and BBRC's
        // dev server (1.6.4); the suites' own central.cfg is redirected by the plugin instead.
        '.xnat.cfg': { server: url, user: 'admin', password: 'admin' },
        '.central.cfg': { server: url, ...login },
        '.devxnat.cfg': { server: url, ...login },
      };
    },
  };
}

function suites(env) {
  const list = [];
  const skipped = [];
  const debian = spawnSync(
    PYTHON,
    ['-c', 'import pyxnat.tests, os; print(os.path.dirname(pyxnat.tests.__file__))'],
    {
      encoding: 'utf8',
    },
  );
  if (debian.status === 0) list.push(pyxnatSuite('pyxnat-debian', debian.stdout.trim(), []));
  else skipped.push(`pyxnat-debian: ${PYTHON} has no pyxnat.tests (apt-get install python3-pyxnat)`);

  if (env.PYXNAT_SRC) {
    const tests = resolve(env.PYXNAT_SRC);
    // The suite imports the pyxnat it sits in: its package's parent goes first on sys.path.
    list.push(pyxnatSuite('pyxnat-src', tests, [resolve(tests, '../..')]));
  } else skipped.push('pyxnat-src: PYXNAT_SRC is not set (e.g. PYXNAT_SRC=/path/to/pyxnat/pyxnat/tests)');

  if (env.XNATPY_SRC && env.XNAT4TESTS_SRC) {
    const root = resolve(env.XNATPY_SRC);
    list.push({
      name: 'xnatpy',
      testsDir: join(root, 'xnat', 'tests'),
      cwd: root,
      pythonPath: [root, resolve(env.XNAT4TESTS_SRC)],
      seed: seeders.xnatpy,
      // xnat4tests' Docker XNAT and XNAT central (anonymous) are the sandbox.
      redirect: ['http://localhost:8080', 'https://central.xnat.org'],
      // Only the tests that reach a server: the rest replay mocked responses (requests_mock).
      args: ['--run-functional', '-m', 'functional_test'],
      xnat4tests: true,
      configs: () => ({}),
    });
  } else {
    skipped.push(
      'xnatpy: XNATPY_SRC (an xnatpy checkout) and XNAT4TESTS_SRC (an xnat4tests checkout) must both be set',
    );
  }
  return { list, skipped };
}

function unsupported(suite) {
  const table = JSON.parse(readFileSync(join(here, 'expected-unsupported.json'), 'utf8'));
  return Object.entries(table[suite.name] ?? {}).map(([id, reason]) => ({ id, reason }));
}

/** pytest's last line, e.g. "3 failed, 40 passed, 2 deselected in 5.1s", as counts. */
function counts(summary) {
  const get = (word) => Number(new RegExp(`(\\d+) ${word}`).exec(summary)?.[1] ?? 0);
  return {
    passed: get('passed'),
    failed: get('failed') + get('errors?'),
    skipped: get('skipped'),
    deselected: get('deselected'),
  };
}

/** Runs pytest, echoing its output; resolves with its exit status and output. */
function pytest(args, options) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(PYTHON, args, { ...options, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (status) => resolvePromise({ status, stdout }));
  });
}

async function runSuite(suite, work) {
  const { startSandbox } = await import('../../dist/sandbox/index.js');
  const { sandboxUsers } = await import('../../dist/sandbox/seed.js');
  const { ArchiveBuilder } = await import('../../dist/sandbox/seed-builders.js');
  // An empty site with the sandbox's users plus the suites' own account; the data comes over REST.
  const archive = new ArchiveBuilder('XNAT', sandboxUsers()).archive;
  archive.users.push({
    xdatUserId: archive.users.length + 1,
    login: SUITE_USER.login,
    password: SUITE_USER.password,
    firstname: 'Nose',
    lastname: 'Tests',
    email: 'nosetests@example.org',
    admin: false,
    enabled: true,
  });
  const dir = mkdtempSync(join(work, `${suite.name}-`));
  const log = createWriteStream(join(dir, 'sandbox-requests.log'));
  const sandbox = await startSandbox({ archive, log: (line) => log.write(`${line}\n`), archiveDir: dir });
  try {
    const problems = await suite.seed(sandbox.url, SUITE_USER);
    // A seeding step the sandbox refused is a sandbox gap too: shown, not hidden.
    for (const p of problems) say(`  seed step refused by the sandbox: ${p}`);
    for (const [file, body] of Object.entries(suite.configs(sandbox.url))) {
      writeFileSync(join(dir, file), JSON.stringify(body));
    }
    if (suite.ini) writeFileSync(join(dir, 'pytest.ini'), suite.ini);
    const deselected = unsupported(suite);
    say(`\n=== ${suite.name}: ${suite.testsDir} against ${sandbox.url}`);
    for (const { id, reason } of deselected) say(`  unsupported, deselected: ${id}\n      (${reason})`);
    const args = [
      '-m',
      'pytest',
      suite.testsDir,
      '-p',
      'sandbox_redirect',
      '-p',
      'no:cacheprovider',
      `--basetemp=${join(dir, 'pytest')}`,
      '-rfE',
      '--tb=line',
      '-q',
      ...(suite.ini ? ['-c', join(dir, 'pytest.ini'), `--rootdir=${dir}`] : []),
      ...suite.args,
      // Extra pytest arguments from the command line (e.g. --tb=short, -k name).
      ...process.argv.slice(2),
      // pytest names a test outside its rootdir (pyxnat's) from the folder it was given, one inside
      // (xnatpy's, whose pytest.ini makes the checkout the rootdir) from the rootdir.
      ...deselected.flatMap(({ id }) => [
        '--deselect',
        suite.ini ? id : `${relative(suite.cwd, suite.testsDir)}/${id}`,
      ]),
    ];
    // Asynchronous: the sandbox answers from this process's event loop while pytest runs.
    const result = await pytest(args, {
      cwd: suite.cwd ?? dir,
      env: {
        ...process.env,
        PYTHONPATH: [here, ...suite.pythonPath, process.env.PYTHONPATH].filter(Boolean).join(':'),
        PYTHONDONTWRITEBYTECODE: '1',
        PEERS_SANDBOX_URL: sandbox.url,
        PEERS_REDIRECT: suite.redirect.join(' '),
        PEERS_XNAT4TESTS: suite.xnat4tests ? '1' : '0',
        HOME: dir,
      },
    });
    const last = result.stdout.trim().split('\n').at(-1) ?? '';
    const c = counts(last);
    if (result.status !== 0 && c.failed === 0) c.failed = 1; // a collection or usage error
    say(`  (sandbox request log: ${join(dir, 'sandbox-requests.log')})`);
    return c;
  } finally {
    await sandbox.close();
    log.end();
  }
}

const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: repo, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const { list, skipped } = suites(process.env);
for (const line of skipped) say(`not run: ${line}`);
const work = process.env.PEERS_WORK_DIR ?? mkdtempSync(join(tmpdir(), 'xnat-mcp-peers-'));
const total = { passed: 0, failed: 0 };
for (const suite of list) {
  const c = await runSuite(suite, work);
  total.passed += c.passed;
  total.failed += c.failed;
}
if (!process.env.PEERS_WORK_DIR && existsSync(work) && total.failed === 0)
  rmSync(work, { recursive: true, force: true });
say(`${total.passed} passed, ${total.failed} failed`);
process.exit(total.failed === 0 ? 0 : 1);
