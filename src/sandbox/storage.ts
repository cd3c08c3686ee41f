/**
 * The sandbox's archive directory: uploaded and imported files live on disk, written as a stream
 * with their size and MD5 computed on the way (XNAT's catalog digest), so a 1 GiB upload never
 * sits in memory. Seeded and generated files stay in memory and are streamed from `bytes()`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

import type { StoredFile } from './model.js';

/** Bytes written to the archive directory, not yet (or no longer) catalogued. */
export interface Blob {
  /** Absolute path on disk. */
  location: string;
  size: number;
  /** MD5 hex of the content. */
  digest: string;
}

export interface FileMeta {
  /** Path relative to the resource root. */
  path: string;
  format: string;
  content: string;
  tags: string[];
}

/** Counts and hashes what flows through it. */
class Digester extends Transform {
  private readonly hash = createHash('md5');
  size = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/** A fresh stream of a file's content, whether it lives on disk or is generated in memory. */
export function openFile(file: StoredFile): Readable {
  return file.open ? file.open() : Readable.from([file.bytes()]);
}

export class ArchiveStorage {
  private nextBlob = 1;
  private readonly locations = new WeakMap<StoredFile, string>();

  private constructor(readonly dir: string) {}

  /** A new archive folder inside `parent` (default: the OS temp directory), removed by `close()`. */
  static async create(parent?: string): Promise<ArchiveStorage> {
    const base = parent ?? tmpdir();
    await mkdir(base, { recursive: true });
    const dir = await mkdtemp(join(base, 'xnat-sandbox-archive-'));
    return new ArchiveStorage(dir);
  }

  /**
   * Streams `source` (through `taps`, e.g. fault injection) into a new file. On any failure the
   * partial file is removed and the error rethrown.
   */
  async store(source: Readable, ...taps: Transform[]): Promise<Blob> {
    const location = join(this.dir, `blob-${this.nextBlob++}`);
    const digester = new Digester();
    try {
      await pipeline([source, ...taps, digester, createWriteStream(location)]);
    } catch (error) {
      await rm(location, { force: true });
      throw error;
    }
    return { location, size: digester.size, digest: digester.digest() };
  }

  /** The catalog entry for a stored blob; its content streams from disk. */
  catalogue(blob: Blob, meta: FileMeta, lastModified = Date.now()): StoredFile {
    const file: StoredFile = {
      ...meta,
      size: blob.size,
      digest: blob.digest,
      bytes: () => readFileSync(blob.location),
      open: () => createReadStream(blob.location),
      lastModified,
    };
    this.locations.set(file, blob.location);
    return file;
  }

  /** Removes a blob that will not be catalogued (duplicates, failed imports). */
  async drop(blob: Blob): Promise<void> {
    await rm(blob.location, { force: true });
  }

  /** Removes the bytes of deleted or replaced files (generated in-memory files have none). */
  async discard(files: Iterable<StoredFile>): Promise<void> {
    const removals: Array<Promise<void>> = [];
    for (const file of files) {
      const location = this.locations.get(file);
      if (location !== undefined) removals.push(rm(location, { force: true }));
    }
    await Promise.all(removals);
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
