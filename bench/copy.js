// `npm run bench` (copy part): a session copied server to server between two sandboxes (two XNAT
// servers over loopback HTTP) through the client core, beside curl downloading each file to disk and
// uploading it again to the other server, in the same run, with each side's peak RSS.
// Each measurement runs in its own child process (this file with a mode) so peak RSS is its own.
// Usage: node bench/copy.js [--size-mib 1024] [--files 4]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XnatClient } from '../dist/index.js';
import { startSandbox } from './sandbox-process.js';

const self = fileURLToPath(import.meta.url);
const ADMIN = { user: 'admin', password: 'admin' };
const PROJECT = 'BRAIN_MR';
const SUBJECT = 'BENCH_COPY_SUBJ';
const SESSION = 'BENCH_COPY_MR';
const RESOURCE = 'BENCH';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Peak RSS of this process, after the work (MiB). */
const peakRss = () => process.resourceUsage().maxRSS / 1024;

async function timed(fn) {
  const start = process.hrtime.bigint();
  const extra = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, ...extra };
}

/** The files of the session (incompressible bytes), written once to `dir`. */
async function writeFiles(dir, sizeMib, count) {
  const files = [];
  const chunk = Buffer.alloc(1 << 20);
  const per = Math.max(1, Math.floor(sizeMib / count));
  for (let f = 0; f < count; f++) {
    const path = join(dir, `part${f}.bin`);
    const out = createWriteStream(path);
    for (let i = 0; i < per; i++) {
      createHash('sha512').update(`${f}:${i}`).digest().copy(chunk, 0);
      for (let off = 64; off < chunk.length; off += 64)
        chunk.writeUInt32LE((i * 2654435761 + off + f) >>> 0, off);
      if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
    }
    await new Promise((r) => out.end(r));
    files.push({ localPath: path, remotePath: `part${f}.bin` });
  }
  return files;
}

async function sessionOn(xnat, ifExists = 'return') {
  const { subject } = await xnat.createSubject({ project: PROJECT, label: SUBJECT, ifExists });
  const { experiment } = await xnat.createExperiment({
    project: PROJECT,
    subject: subject.id,
    label: SESSION,
    xsiType: 'xnat:mrSessionData',
    ifExists,
  });
  return experiment.id;
}

async function jsession(url) {
  const auth = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;
  const res = await fetch(`${url}/data/JSESSION`, { method: 'POST', headers: { authorization: auth } });
  return `JSESSIONID=${(await res.text()).trim()}`;
}

const modes = {
  /** The source session with its files (not measured). */
  async prepare({ source, dir, sizeMib, count }) {
    const xnat = new XnatClient({ url: source, ...ADMIN });
    const id = await sessionOn(xnat);
    const files = await writeFiles(dir, sizeMib, count);
    await xnat.upload({ parent: { experiment: id }, resource: RESOURCE, files, overwrite: true });
    await xnat.close();
    return { prepared: true };
  },

  /** curl: each file downloaded to disk from the source, then uploaded to the target. */
  async curl({ source, target, dir }) {
    const xnat = new XnatClient({ url: target, ...ADMIN });
    const targetId = await sessionOn(xnat);
    const srcXnat = new XnatClient({ url: source, ...ADMIN });
    const src = await srcXnat.getExperiment(SESSION, { project: PROJECT });
    const files = await srcXnat.listResourceFiles({ experiment: src.id }, RESOURCE);
    await Promise.all([xnat.close(), srcXnat.close()]);
    const [srcCookie, dstCookie] = await Promise.all([jsession(source), jsession(target)]);
    const staging = join(dir, 'curl');
    mkdirSync(staging, { recursive: true });
    return timed(async () => {
      let bytes = 0;
      for (const f of files) {
        const local = join(staging, f.path);
        const get = spawnSync('curl', [
          '-sS',
          '-f',
          '-H',
          `Cookie: ${srcCookie}`,
          '-o',
          local,
          `${source}/data/experiments/${src.id}/resources/${RESOURCE}/files/${f.path}`,
        ]);
        if (get.status !== 0) throw new Error(`curl download failed: ${get.stderr}`);
        const put = spawnSync('curl', [
          '-sS',
          '-f',
          '-H',
          `Cookie: ${dstCookie}`,
          '-H',
          'Content-Type: application/octet-stream',
          '-T',
          local,
          `${target}/data/experiments/${targetId}/resources/${RESOURCE}_CURL/files/${f.path}?overwrite=true`,
        ]);
        if (put.status !== 0) throw new Error(`curl upload failed: ${put.stderr}`);
        bytes += statSync(local).size;
        rmSync(local);
      }
      return { bytes, label: 'curl download + upload (baseline)', maxRssMiB: null };
    });
  },

  /** The client core: planned, streamed server to server, verified by size and MD5. */
  async copy({ source, target }) {
    const from = new XnatClient({ url: source, ...ADMIN });
    const to = new XnatClient({ url: target, ...ADMIN });
    const q = {
      kind: 'experiment',
      ids: [SESSION],
      sourceProject: PROJECT,
      targetProject: PROJECT,
      onExisting: 'merge',
    };
    const result = await timed(async () => {
      const planned = await from.planCopy(to, q);
      const { outcomes } = await from.runCopy(to, planned, q);
      const failed = outcomes.find((o) => o.error !== undefined);
      if (failed) throw new Error(failed.error);
      const bytes = outcomes.reduce((n, o) => n + o.copied.bytes, 0);
      const verified = outcomes.reduce((n, o) => n + o.copied.verified, 0);
      return { bytes, verified, label: 'copyData core (server to server)' };
    });
    await Promise.all([from.close(), to.close()]);
    return { ...result, maxRssMiB: peakRss() };
  },
};

function runMode(mode, env) {
  const r = spawnSync(process.execPath, [self, '--mode', mode], {
    env: { ...process.env, BENCH_COPY: JSON.stringify(env) },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`${mode} failed (exit ${r.status}): ${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const modeIndex = process.argv.indexOf('--mode');
if (modeIndex >= 0) {
  const out = await modes[process.argv[modeIndex + 1]](JSON.parse(process.env.BENCH_COPY));
  console.log(JSON.stringify(out));
} else {
  const sizeMib = arg('size-mib', 1024);
  const count = arg('files', 4);
  const hasCurl = spawnSync('curl', ['--version']).status === 0;
  const dir = mkdtempSync(join(tmpdir(), 'xnat-bench-copy-'));
  const sandboxes = [];
  try {
    sandboxes.push(await startSandbox(), await startSandbox());
    const env = { source: sandboxes[0].url, target: sandboxes[1].url, dir, sizeMib, count };
    console.log(`\ncopy between two sandboxes: a ${sizeMib} MiB session of ${count} files`);
    runMode('prepare', env);
    const rows = [...(hasCurl ? [runMode('curl', env)] : []), runMode('copy', env)];
    const pad = (s, n) => `${s} `.padEnd(n);
    console.log(
      `${pad('copy', 40)}${pad('MiB/s', 9)}${pad('wall ms', 10)}${pad('peak RSS MiB', 14)}× baseline time`,
    );
    for (const r of rows) {
      console.log(
        `${pad(r.label, 40)}${pad((r.bytes / 1048576 / (r.ms / 1000)).toFixed(0), 9)}${pad(r.ms.toFixed(0), 10)}${pad(r.maxRssMiB === null ? 'n/a (curl)' : r.maxRssMiB.toFixed(0), 14)}${(r.ms / rows[0].ms).toFixed(2)}`,
      );
    }
    if (!hasCurl) console.log('(curl is missing: no baseline)');
  } finally {
    for (const s of sandboxes) s.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
