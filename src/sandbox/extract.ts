/**
 * `extract=true` on file uploads (FileList): archives are replaced by their entries, placed relative
 * to the archive's folder, as XNAT's extractor does for zip, tar and gzip (`.tar.gz`, `.tgz`, `.gz`).
 * A gzip that holds no tar is one file, its name without `.gz`. Any entry that would land outside
 * the resource refuses the whole upload; nothing extracted is kept then.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

import { SandboxHttpError } from './errors.js';
import type { ArchiveStorage, Blob } from './storage.js';
import { isTar, openTarEntry, readTarDirectory } from './tar.js';
import { openZipEntry, readZipDirectory, safeEntryPath } from './unzip.js';

/** An uploaded file in the archive directory, not yet catalogued. */
export interface Received {
  path: string;
  blob: Blob;
}

interface Member {
  name: string;
  open: () => Promise<Readable> | Readable;
}

type Kind = 'zip' | 'tar' | 'gzip';

function kindOf(path: string): Kind | undefined {
  if (/\.(zip|zar)$/i.test(path)) return 'zip';
  if (/\.tar$/i.test(path)) return 'tar';
  if (/\.(tgz|gz)$/i.test(path)) return 'gzip';
  return undefined;
}

async function zipMembers(location: string): Promise<Member[]> {
  const entries = await readZipDirectory(location);
  return entries
    .filter((e) => !e.isDirectory)
    .map((entry) => ({ name: entry.name, open: () => openZipEntry(location, entry) }));
}

async function tarMembers(location: string): Promise<Member[]> {
  const entries = await readTarDirectory(location);
  return entries
    .filter((e) => !e.isDirectory)
    .map((entry) => ({ name: entry.name, open: () => openTarEntry(location, entry) }));
}

/** A gzip's content, decompressed into the archive directory; 400 when it is not gzip. */
async function gunzip(storage: ArchiveStorage, blob: Blob): Promise<Blob> {
  try {
    return await storage.store(createReadStream(blob.location), createGunzip());
  } catch {
    throw new SandboxHttpError(400, 'The uploaded file is not a valid gzip archive.');
  }
}

function target(folder: string, name: string): string {
  const path = safeEntryPath(name);
  if (path === undefined) {
    throw new SandboxHttpError(400, `Archive entry would be extracted outside the resource: ${name}`);
  }
  return `${folder}${path}`;
}

/** `received` with every archive replaced by its entries; the archives' own blobs are dropped. */
export async function extractArchives(storage: ArchiveStorage, received: Received[]): Promise<Received[]> {
  const kept: Received[] = [];
  const extracted: Received[] = [];
  const scratch: Blob[] = [];
  try {
    for (const item of received) {
      const kind = kindOf(item.path);
      if (!kind) {
        kept.push(item);
        continue;
      }
      const folder = item.path.includes('/') ? item.path.slice(0, item.path.lastIndexOf('/') + 1) : '';
      let source = item.blob;
      let members: Member[];
      if (kind === 'gzip') {
        source = await gunzip(storage, item.blob);
        scratch.push(source);
      }
      if (kind === 'zip') members = await zipMembers(source.location);
      else if (kind === 'tar' || (await isTar(source.location))) members = await tarMembers(source.location);
      else {
        // A plain gzip: the decompressed blob is the file.
        scratch.pop();
        extracted.push({ path: target('', item.path.replace(/\.gz$/i, '')), blob: source });
        await storage.drop(item.blob);
        continue;
      }
      const targets = members.map((member) => ({ member, path: target(folder, member.name) }));
      for (const { member, path } of targets) {
        extracted.push({ path, blob: await storage.store(await member.open()) });
      }
      await storage.drop(item.blob);
    }
    await Promise.all(scratch.map((b) => storage.drop(b)));
    return [...kept, ...extracted];
  } catch (error) {
    await Promise.all([...received, ...extracted].map((r) => storage.drop(r.blob)));
    await Promise.all(scratch.map((b) => storage.drop(b)));
    throw error;
  }
}
