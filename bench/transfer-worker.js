// One transfer measurement per process (see bench/transfers.js), so that the peak RSS it prints is
// that transfer's alone. Prints one JSON line: { label, ms, bytes, files, requests, maxRssMiB }.
import { spawnSync } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { XnatClient } from '../dist/index.js';

const mode = process.argv[2];
/**
 * For raw-upload/raw-download: `curl`, `curl-md5-sync` (download only: curl, then md5sum, then sync
 * of the file: the work the client core does, by standard tools) or `undici` (a raw stream here).
 */
const variant = process.argv[3];
const viaCurl = variant === 'curl' || variant === 'curl-md5-sync';
const { BENCH_URL: url, BENCH_DIR: dir } = process.env;
const SIZE_MIB = Number(process.env.BENCH_SIZE_MIB);
const FILES = Number(process.env.BENCH_FILES);
const USER = 'admin';
const PASSWORD = 'admin';
const PROJECT = 'BRAIN_MR';
const BIG = join(dir, 'big.bin');
const MANY = join(dir, 'many');
const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

/**
 * A new folder for each many-file run, kept until the whole bench ends (bench/transfers.js removes
 * its work folder). Deleting 2,000 files just before the next run is timed makes that run pay for
 * the deletion: on ext4 here, creating files right after thousands were deleted costs up to 20x
 * (about 1 ms a file instead of 0.03 ms), for curl + unzip as much as for the client core.
 */
function freshDir(mode) {
  return mkdtempSync(join(dir, `${mode}-`));
}

function client() {
  return new XnatClient({ url, user: USER, password: PASSWORD });
}

/** The first session of the demo project and its first scan: where the benchmark's files go. */
async function target(xnat) {
  const page = await xnat.listExperiments({ project: PROJECT, xsiType: 'xnat:mrSessionData', limit: 1 });
  const experiment = page.items[0].id;
  const scans = await xnat.listScans(experiment);
  return { experiment, scan: scans[0].id };
}

/** `external`: the transfer ran in another program (curl), so this process's RSS says nothing of it. */
async function timed(label, fn, external = false) {
  globalThis.gc?.();
  const start = process.hrtime.bigint();
  const extra = await fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const maxRssMiB = external ? null : process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ label, ms, maxRssMiB, ...extra }));
}

async function rawJsession() {
  const res = await request(`${url}/data/JSESSION`, { method: 'POST', headers: { authorization: auth } });
  return `JSESSIONID=${(await res.body.text()).trim()}`;
}

const bigUri = (experiment, resource) =>
  `${url}/data/experiments/${experiment}/resources/${resource}/files/big.bin`;

switch (mode) {
  case 'prepare-big': {
    // A 1 GiB file of incompressible bytes (1 MiB of random data, each copy salted by its index).
    const chunk = Buffer.alloc(1 << 20);
    const out = createWriteStream(BIG);
    for (let i = 0; i < SIZE_MIB; i++) {
      createHash('sha512').update(String(i)).digest().copy(chunk, 0);
      for (let off = 64; off < chunk.length; off += 64)
        chunk.writeUInt32LE((i * 2654435761 + off) >>> 0, off);
      if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
    }
    await new Promise((r) => out.end(r));
    console.log(JSON.stringify({ prepared: true }));
    break;
  }
  case 'prepare': {
    // The many-file scan: small DICOM-sized files uploaded once (not measured).
    mkdirSync(MANY, { recursive: true });
    const files = [];
    for (let i = 0; i < FILES; i++) {
      const name = `IM${String(i).padStart(5, '0')}.dcm`;
      writeFileSync(join(MANY, name), createHash('sha256').update(name).digest().toString('hex').repeat(64));
      files.push({ localPath: join(MANY, name), remotePath: name });
    }
    const xnat = client();
    const { experiment, scan } = await target(xnat);
    await xnat.upload({
      parent: { experiment, scan },
      resource: 'BENCH_MANY',
      files,
      overwrite: true,
      concurrency: 8,
    });
    await xnat.close();
    console.log(JSON.stringify({ prepared: true }));
    break;
  }
  case 'raw-upload': {
    const xnat = client();
    const { experiment } = await target(xnat);
    await xnat.close();
    const cookie = await rawJsession();
    const bytes = statSync(BIG).size;
    await timed(
      viaCurl ? 'curl upload (baseline)' : 'raw undici stream upload',
      async () => {
        const uri = `${bigUri(experiment, 'BENCH_RAW')}?overwrite=true`;
        if (viaCurl) {
          const r = spawnSync('curl', [
            '-sS',
            '-f',
            '-H',
            `Cookie: ${cookie}`,
            '-H',
            'Content-Type: application/octet-stream',
            '-T',
            BIG,
            uri,
          ]);
          if (r.status !== 0) throw new Error(`curl upload failed: ${r.stderr}`);
        } else {
          const res = await request(uri, {
            method: 'PUT',
            headers: { cookie, 'content-type': 'application/octet-stream', 'content-length': String(bytes) },
            body: createReadStream(BIG),
          });
          await res.body.dump();
          if (res.statusCode !== 200) throw new Error(`raw upload: HTTP ${res.statusCode}`);
        }
        return { bytes };
      },
      viaCurl,
    );
    break;
  }
  case 'client-upload': {
    const xnat = client();
    const { experiment } = await target(xnat);
    const bytes = statSync(BIG).size;
    await timed('client core upload (verified)', async () => {
      const result = await xnat.upload({
        parent: { experiment },
        resource: 'BENCH',
        files: [{ localPath: BIG, remotePath: 'big.bin' }],
        overwrite: true,
      });
      if (!result.uploaded[0]?.verified) throw new Error('upload not verified');
      return { bytes, requests: xnat.stats.requests };
    });
    await xnat.close();
    break;
  }
  case 'raw-download': {
    const xnat = client();
    const { experiment } = await target(xnat);
    await xnat.close();
    const cookie = await rawJsession();
    const out = join(dir, 'raw-download.bin');
    await timed(
      {
        curl: 'curl download',
        'curl-md5-sync': 'curl + md5sum + sync (baseline)',
        undici: 'raw undici stream download',
      }[variant],
      async () => {
        const uri = bigUri(experiment, 'BENCH_RAW');
        if (viaCurl) {
          const r = spawnSync('curl', ['-sS', '-f', '-H', `Cookie: ${cookie}`, '-o', out, uri]);
          if (r.status !== 0) throw new Error(`curl download failed: ${r.stderr}`);
          if (variant === 'curl-md5-sync') {
            for (const [command, ...args] of [
              ['md5sum', out],
              ['sync', out],
            ]) {
              const done = spawnSync(command, args);
              if (done.status !== 0) throw new Error(`${command} failed: ${done.stderr}`);
            }
          }
        } else {
          const res = await request(uri, { headers: { cookie } });
          await pipeline(res.body, createWriteStream(out));
        }
        return { bytes: statSync(out).size };
      },
      viaCurl,
    );
    rmSync(out, { force: true });
    break;
  }
  case 'client-download': {
    const xnat = client();
    const { experiment } = await target(xnat);
    const files = await xnat.listFiles({ experiment, resource: 'BENCH' });
    const destDir = join(dir, 'client-download');
    await timed('client core download (MD5-verified)', async () => {
      const result = await xnat.download({ files, destDir, layout: 'flat', overwrite: true });
      if (result.files[0]?.checksum !== 'match') throw new Error('download not verified');
      return { bytes: result.files[0].size, requests: xnat.stats.requests };
    });
    await xnat.close();
    rmSync(destDir, { recursive: true, force: true });
    break;
  }
  case 'many-zip-curl': {
    // The baseline for many small files: curl fetching XNAT's zip of the resource (no extraction).
    const xnat = client();
    const { experiment, scan } = await target(xnat);
    await xnat.close();
    const cookie = await rawJsession();
    const out = join(dir, 'many.zip');
    await timed(
      'curl of the resource zip (baseline)',
      async () => {
        const uri = `${url}/data/experiments/${experiment}/scans/${scan}/resources/BENCH_MANY/files?format=zip`;
        const r = spawnSync('curl', ['-sS', '-f', '-H', `Cookie: ${cookie}`, '-o', out, uri]);
        if (r.status !== 0) throw new Error(`curl zip download failed: ${r.stderr}`);
        return { files: FILES, requests: 1, bytes: statSync(out).size };
      },
      true,
    );
    rmSync(out, { force: true });
    break;
  }
  case 'many-zip-unzip': {
    // For reference: the same files created by standard tools (curl, then unzip; no verification).
    // Variant `sync`: then `sync -f` of the folder, the one flush that puts every file's data on disk
    // as the client core's overlapping fdatasyncs do (a file system sync, so the same or less work).
    const xnat = client();
    const { experiment, scan } = await target(xnat);
    await xnat.close();
    const cookie = await rawJsession();
    const out = join(dir, 'many-unzip.zip');
    const destDir = freshDir('many-unzip');
    const flush = variant === 'sync';
    await timed(
      flush ? 'curl + unzip + sync -f (reference)' : 'curl + unzip (reference)',
      async () => {
        const uri = `${url}/data/experiments/${experiment}/scans/${scan}/resources/BENCH_MANY/files?format=zip`;
        const r = spawnSync('curl', ['-sS', '-f', '-H', `Cookie: ${cookie}`, '-o', out, uri]);
        if (r.status !== 0) throw new Error(`curl zip download failed: ${r.stderr}`);
        const u = spawnSync('unzip', ['-q', '-o', '-d', destDir, out]);
        if (u.status !== 0) throw new Error(`unzip failed: ${u.stderr}`);
        if (flush) {
          const f = spawnSync('sync', ['-f', destDir]);
          if (f.status !== 0) throw new Error(`sync -f failed: ${f.stderr}`);
        }
        return { files: FILES, requests: 1 };
      },
      true,
    );
    rmSync(out, { force: true });
    break;
  }
  case 'many-sequential':
  case 'many-zip':
  case 'many-parallel': {
    const xnat = client();
    const { experiment, scan } = await target(xnat);
    const files = await xnat.listFiles({ experiment, scan, resource: 'BENCH_MANY' });
    const destDir = freshDir(mode);
    const concurrency = mode === 'many-sequential' ? 1 : undefined;
    let firstMs;
    if (mode === 'many-zip') {
      // The first zip download in a process also loads and compiles the zip modules: timed and
      // reported beside (firstMs), while the row is a download in a running process, as an MCP
      // server or a script makes its downloads.
      const start = process.hrtime.bigint();
      await xnat.download({ files, destDir: freshDir('many-zip-first'), layout: 'flat', zip: true });
      firstMs = Number(process.hrtime.bigint() - start) / 1e6;
    }
    const before = xnat.stats.requests;
    const labels = {
      'many-sequential': 'client core, one file at a time',
      'many-parallel': 'client core, per file in parallel (zip off)',
      'many-zip': 'client core download (zip, verified)',
    };
    await timed(labels[mode], async () => {
      const result = await xnat.download({
        files,
        destDir,
        layout: 'flat',
        overwrite: true,
        concurrency,
        zip: mode === 'many-zip',
      });
      if (result.files.length !== FILES) throw new Error(`downloaded ${result.files.length} of ${FILES}`);
      return { files: result.files.length, requests: xnat.stats.requests - before, firstMs };
    });
    await xnat.close();
    break;
  }
  default:
    throw new Error(`unknown mode ${mode}`);
}
