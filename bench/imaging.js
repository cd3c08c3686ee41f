// `npm run bench` (imaging part): time to the first image of a 200-slice DICOM series and peak RSS,
// beside downloading the same series with curl (the resource's zip) against the same sandbox in the
// same run. The image is asked for the way a host asks: getScanImage through an SDK client, in
// memory, against a server built by our one factory. Every measurement runs in a process of its own
// (this file again, with `worker <mode>`), so each peak RSS is that measurement's alone.
// Usage: npm run bench [-- --slices 200]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox } from './sandbox-process.js';

const here = fileURLToPath(import.meta.url);
const USER = 'admin';
const PASSWORD = 'admin';
const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const SCAN = 'BENCH200';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** A 200-slice axial series of 256×256 16-bit slices: a sphere whose section changes slice by slice. */
async function makeSeries(slices) {
  const { dicomFile, SOP_CLASS } = await import('../dist/sandbox/dicom.js');
  const size = 256;
  const files = [];
  for (let k = 0; k < slices; k++) {
    const pixels = new Uint16Array(size * size);
    const z = (k - slices / 2) / (slices / 2);
    const radius = Math.sqrt(Math.max(0, 1 - z * z)) * (size * 0.45);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const r = Math.hypot(x - size / 2, y - size / 2);
        pixels[y * size + x] = r < radius ? 800 + Math.round(400 * Math.cos(r / 9)) : 0;
      }
    }
    const ds = (v) => v.map((n) => String(n)).join('\\');
    files.push(
      dicomFile({
        sopClassUid: SOP_CLASS.MR,
        sopInstanceUid: `1.2.826.0.1.3680043.8.498.9${k + 1}`,
        studyInstanceUid: '1.2.826.0.1.3680043.8.498.7',
        seriesInstanceUid: '1.2.826.0.1.3680043.8.498.8',
        studyDate: '2024-01-01',
        studyTime: '09:00:00',
        modality: 'MR',
        manufacturer: 'BENCH',
        modelName: 'BENCH',
        stationName: 'BENCH',
        studyDescription: 'bench',
        seriesDescription: 'bench 200 slices',
        patientName: 'BENCH',
        patientId: 'BENCH',
        patientBirthDate: '',
        patientSex: '',
        accessionNumber: '',
        seriesNumber: 200,
        // Instance numbers run backwards: the renderer must order by position, not by number.
        instanceNumber: slices - k,
        size,
        image: { rows: size, columns: size, bitsStored: 12, pixels },
        extra: [
          { tag: 0x00200032, vr: 'DS', value: ds([-128, -128, k]) },
          { tag: 0x00200037, vr: 'DS', value: ds([1, 0, 0, 0, 1, 0]) },
          { tag: 0x00280030, vr: 'DS', value: ds([1, 1]) },
        ],
      }),
    );
  }
  return files;
}

async function prepare(url, slices, dir) {
  const { XnatClient } = await import('../dist/index.js');
  const { writeFileSync } = await import('node:fs');
  const xnat = new XnatClient({ url, user: USER, password: PASSWORD });
  try {
    const page = await xnat.listExperiments({ project: 'BRAIN_MR', xsiType: 'xnat:mrSessionData', limit: 1 });
    const experiment = page.items[0].id;
    const res = await fetch(`${url}/data/experiments/${experiment}/scans/${SCAN}?xsiType=xnat:mrScanData`, {
      method: 'PUT',
      headers: { authorization: auth },
    });
    if (!res.ok) throw new Error(`creating scan ${SCAN}: HTTP ${res.status}`);
    const files = (await makeSeries(slices)).map((bytes, k) => {
      const name = `IM${String(k).padStart(4, '0')}.dcm`;
      writeFileSync(join(dir, name), bytes);
      return { localPath: join(dir, name), remotePath: name };
    });
    await xnat.upload({ parent: { experiment, scan: SCAN }, resource: 'DICOM', files, overwrite: true });
    return experiment;
  } finally {
    await xnat.close();
  }
}

/** One measurement in this process; prints one JSON line. */
async function worker(mode) {
  const { BENCH_URL: url, BENCH_EXPERIMENT: experiment, BENCH_DIR: dir } = process.env;
  globalThis.gc?.();
  if (mode === 'curl') {
    const out = join(dir, 'series.zip');
    const start = process.hrtime.bigint();
    const r = spawnSync('curl', [
      '-sf',
      '-u',
      `${USER}:${PASSWORD}`,
      '-o',
      out,
      `${url}/data/experiments/${experiment}/scans/${SCAN}/resources/DICOM/files?format=zip`,
    ]);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`curl failed (${r.status}): ${r.stderr}`);
    console.log(JSON.stringify({ ms, bytes: statSync(out).size, maxRssMiB: null }));
    return;
  }
  const { XnatClient } = await import('../dist/index.js');
  const { createServer } = await import('../dist/server.js');
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { InMemoryTransport } = await import('@modelcontextprotocol/sdk/inMemory.js');
  const xnat = new XnatClient({ url, user: USER, password: PASSWORD });
  const server = await createServer({ client: xnat }, { toolsets: ['imaging'] });
  const mcp = new Client({ name: 'bench', version: '0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(b), mcp.connect(a)]);
  await mcp.listTools();
  const start = process.hrtime.bigint();
  const result = await mcp.callTool({
    name: 'getScanImage',
    arguments: { experiment, scan: SCAN, mode, ...(mode === 'montage' ? { count: 16 } : {}) },
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const image = result.content.find((c) => c.type === 'image');
  if (result.isError || !image) throw new Error(`getScanImage failed: ${JSON.stringify(result.content)}`);
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ ms, bytes: Buffer.from(image.data, 'base64').length, maxRssMiB }));
  await mcp.close();
  await server.close();
  await xnat.close();
}

function run(mode, env) {
  const r = spawnSync(process.execPath, ['--expose-gc', here, 'worker', mode], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`${mode} failed (exit ${r.status}): ${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

async function main() {
  const slices = arg('slices', 200);
  if (spawnSync('curl', ['--version']).status !== 0) {
    console.log('\nimaging bench skipped: curl is missing (it is the baseline)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'xnat-bench-imaging-'));
  const sandbox = await startSandbox();
  try {
    const experiment = await prepare(sandbox.url, slices, dir);
    const env = { BENCH_URL: sandbox.url, BENCH_EXPERIMENT: experiment, BENCH_DIR: dir };
    // Median of three, interleaved: single runs on a shared machine are noisy.
    const modes = ['curl', 'slice', 'montage'];
    const runs = new Map(modes.map((m) => [m, []]));
    for (let i = 0; i < 3; i++) for (const m of modes) runs.get(m).push(run(m, env));
    const median = (m) => runs.get(m).sort((x, y) => x.ms - y.ms)[1];
    const curl = median('curl');
    const pad = (s, n) => `${s} `.padEnd(n);
    console.log(`\n${slices}-slice series (256x256, 16-bit; ${(curl.bytes / 1048576).toFixed(1)} MiB zip)`);
    console.log(`${pad('', 44)}${pad('wall ms', 10)}${pad('peak RSS MiB', 14)}× curl time`);
    const rows = [
      ['curl: the series as one zip (baseline)', curl],
      ['getScanImage slice: time to first image', median('slice')],
      ['getScanImage montage of 16', median('montage')],
    ];
    for (const [label, r] of rows) {
      const rss = r.maxRssMiB === null ? 'n/a (curl)' : r.maxRssMiB.toFixed(0);
      console.log(
        `${pad(label, 44)}${pad(r.ms.toFixed(0), 10)}${pad(rss, 14)}${(r.ms / curl.ms).toFixed(2)}`,
      );
    }
  } finally {
    sandbox.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'worker') await worker(process.argv[3]);
else await main();
