#!/usr/bin/env node
/**
 * Builds the MCP bundle (`xnat-mcp-<version>.mcpb`): a zip of manifest.json, package.json, README,
 * the compiled dist/ and the production node_modules (the non-dev entries of package-lock.json,
 * copied from the installed tree), as MCPB hosts such as Claude Desktop install it.
 *
 * Usage: node scripts/bundle.mjs [--out <dir>]   (after `npm run build`; `npm run bundle` does both)
 *
 * Our own small zip writer rather than the mcpb CLI: no extra dependency tree, no network, and the
 * output is reproducible (sorted entries, fixed timestamps), so a release's fileSha256 can be
 * rebuilt and checked.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { crc32, deflateRawSync } from 'node:zlib';

const ROOT = resolve(import.meta.dirname, '..');

/** Type declarations and source maps are never loaded at run time; leaving them out halves the size. */
const SKIPPED = /\.(map|d\.ts|d\.cts|d\.mts)$/;

function fail(message) {
  process.stderr.write(`bundle: ${message}\n`);
  process.exit(1);
}

function readJson(path) {
  return JSON.parse(readFileSync(join(ROOT, path), 'utf8'));
}

/** Every file under `dir` (relative to ROOT), without nested node_modules: the lock lists those. */
function filesUnder(dir) {
  const out = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') out.push(...filesUnder(path));
    } else if (entry.isFile() && !SKIPPED.test(entry.name)) {
      out.push(path);
    }
  }
  return out;
}

function productionPackages(lock) {
  return Object.entries(lock.packages)
    .filter(([path, meta]) => path.startsWith('node_modules/') && !meta.dev && !meta.link)
    .map(([path, meta]) => {
      // An optional dependency for another platform is legitimately absent; anything else is a broken install.
      if (!existsSync(join(ROOT, path))) {
        if (meta.optional) return undefined;
        fail(`${path} is missing; run npm ci first`);
      }
      return path;
    })
    .filter((path) => path !== undefined);
}

function collect() {
  const pkg = readJson('package.json');
  const manifest = readJson('manifest.json');
  if (manifest.version !== pkg.version) {
    fail(`manifest.json version ${manifest.version} differs from package.json ${pkg.version}`);
  }
  if (!existsSync(join(ROOT, manifest.server.entry_point))) {
    fail(`${manifest.server.entry_point} is missing; run npm run build first`);
  }
  const files = ['manifest.json', 'package.json', 'README.md', ...filesUnder('dist')];
  for (const dir of productionPackages(readJson('package-lock.json'))) files.push(...filesUnder(dir));
  return { version: pkg.version, files: files.map((f) => f.split(sep).join('/')).sort() };
}

// Zip format (PKWARE APPNOTE 6.3): local headers + data, a central directory, an end record.
const DOS_DATE_1980 = (0 << 9) | (1 << 5) | 1; // 1980-01-01, the format's epoch: reproducible output
const UTF8_NAMES = 1 << 11;

function zip(entries) {
  const chunks = [];
  const central = [];
  let offset = 0;
  for (const { name, data, mode } of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const packed = deflateRawSync(data, { level: 9 });
    const [method, body] = packed.length < data.length ? [8, packed] : [0, data];
    const fields = { crc: crc32(data), method, size: body.length, rawSize: data.length };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    writeCommon(local, 4, fields);
    local.writeUInt16LE(nameBytes.length, 26);
    chunks.push(local, nameBytes, body);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so hosts keep the file modes
    writeCommon(header, 6, fields);
    header.writeUInt16LE(nameBytes.length, 28);
    header.writeUInt32LE(((0o100000 | mode) << 16) >>> 0, 38);
    header.writeUInt32LE(offset, 42);
    central.push(header, nameBytes);
    offset += local.length + nameBytes.length + body.length;
  }
  const centralSize = central.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  if (entries.length > 0xffff || offset > 0xffffffff) fail('too large for a zip without zip64');
  return Buffer.concat([...chunks, ...central, end]);
}

/** The fields local and central headers share, from "version needed" to the name length. */
function writeCommon(buf, at, { crc, method, size, rawSize }) {
  buf.writeUInt16LE(20, at);
  buf.writeUInt16LE(UTF8_NAMES, at + 2);
  buf.writeUInt16LE(method, at + 4);
  buf.writeUInt16LE(0, at + 6);
  buf.writeUInt16LE(DOS_DATE_1980, at + 8);
  buf.writeUInt32LE(crc, at + 10);
  buf.writeUInt32LE(size, at + 14);
  buf.writeUInt32LE(rawSize, at + 18);
}

const { values } = parseArgs({ options: { out: { type: 'string', default: ROOT } } });
const { version, files } = collect();
const entries = files.map((name) => ({
  name,
  data: readFileSync(join(ROOT, name)),
  mode: statSync(join(ROOT, name)).mode & 0o777,
}));
const outDir = resolve(values.out);
mkdirSync(outDir, { recursive: true });
const target = join(outDir, `xnat-mcp-${version}.mcpb`);
writeFileSync(target, zip(entries));
process.stdout.write(`${target} (${entries.length} files)\n`);
