/**
 * The temporary files of downloads: created inside the destination with no link followed (the
 * check happens when the file is opened, not only before XNAT is asked), moved into place only while
 * their folder is still inside it, and swept when a killed process left them behind.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fdatasync as fdatasyncCb,
  fstatSync,
  linkSync,
  lstatSync,
  open as openCb,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  unlinkSync,
  write as writeCb,
  writeSync,
} from 'node:fs';
import { lstat, open, readdir, realpath, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { XnatLocalFileError, fsErrorCode, localFileError } from '../errors.js';

const MARKER = '.xnat-mcp-partial-';
/** Only names this module makes: `.<file name>.xnat-mcp-partial-<12 hex digits>`. */
const OURS = /^\..+\.xnat-mcp-partial-[0-9a-f]{12}$/;

/** Whole milliseconds since the epoch at which this process started. */
const PROCESS_START = Math.floor(performance.timeOrigin);

/** Temporary files this process is writing now: never swept. */
const live = new Set<string>();

// Temporary files are plain descriptors (a FileHandle cannot be made from a synchronous open, which
// batches of small files need); these are the asynchronous calls on them.
const openFd = (path: string, flags: number, mode: number): Promise<number> =>
  new Promise((resolve, reject) => openCb(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
const fdatasyncFd = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fdatasyncCb(fd, (err) => (err ? reject(err) : resolve())));
const writeFd = (fd: number, chunk: Buffer, at: number): Promise<number> =>
  new Promise((resolve, reject) =>
    writeCb(fd, chunk, at, chunk.length - at, null, (err, written) => (err ? reject(err) : resolve(written))),
  );

/** An open temporary file: its path, its descriptor and its identity. */
export interface Partial {
  path: string;
  /** -1 once closed (checked and about to be placed): a closed number may be reused by another file. */
  fd: number;
  dev: number;
  ino: number;
}

export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

const within = (root: string, path: string): boolean => path === root || isInside(root, path);

function leftRoot(target: string, destDir: string): XnatLocalFileError {
  return new XnatLocalFileError(
    `Refusing to write ${target}: its folder now leads outside ${destDir} (a folder was replaced by a symbolic link)`,
  );
}

/**
 * Checks that `folder` is still inside the destination: `destDir` still resolves to `root`, and no
 * folder below it is a symbolic link.
 */
async function checkFolderChain(
  root: string,
  destDir: string,
  folder: string,
  target: string,
): Promise<void> {
  if ((await realpath(destDir)) !== root) throw leftRoot(target, destDir);
  const below = relative(destDir, folder);
  let current = destDir;
  for (const segment of below === '' ? [] : below.split(sep)) {
    current = join(current, segment);
    const info = await lstat(current);
    if (info.isSymbolicLink() || !info.isDirectory()) throw leftRoot(target, destDir);
  }
}

/** Where an open file really is: the kernel's name for the descriptor, else its folder resolved. */
function realLocation(fd: number, path: string): string {
  if (process.platform === 'linux') {
    try {
      const name = readlinkSync(`/proc/self/fd/${fd}`);
      if (isAbsolute(name)) return name;
    } catch {
      // No /proc: resolve the folder instead.
    }
  }
  return join(realpathSync(dirname(path)), basename(path));
}

const PARTIAL_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

// Random bytes drawn many names at a time: one draw per name costs more than the name's file.
const NAME_BYTES = 6;
let names = Buffer.alloc(0);
let nameAt = 0;

function partialPath(target: string): string {
  if (nameAt + NAME_BYTES > names.length) {
    names = randomBytes(512 * NAME_BYTES);
    nameAt = 0;
  }
  const unique = names.toString('hex', nameAt, (nameAt += NAME_BYTES));
  return join(dirname(target), `.${basename(target)}${MARKER}${unique}`);
}

/**
 * Takes an opened temporary file on, once it is verified to be inside the root where it really is
 * (a folder swapped in between cannot take the download out of the root); else removes it.
 * Synchronous: a descriptor's name and identity cost microseconds, less than a thread hand-off.
 */
function adopt(root: string, destDir: string, target: string, path: string, fd: number): Partial {
  try {
    const realPath = realLocation(fd, path);
    if (!within(root, dirname(realPath))) {
      try {
        unlinkSync(realPath);
      } catch {
        // Already gone.
      }
      throw leftRoot(target, destDir);
    }
    const info = fstatSync(fd);
    live.add(path);
    return { path, fd, dev: info.dev, ino: info.ino };
  } catch (err) {
    closeQuietly(fd);
    if (err instanceof XnatLocalFileError) throw err;
    throw localFileError('write', path, err);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Closed already.
  }
}

/**
 * Creates the temporary file for `target` below `destDir` (resolved: `root`). Refuses a link as
 * the file or along its folders (`O_NOFOLLOW`, `O_EXCL`, the chain checked), and then verifies where
 * the opened file really is.
 */
export async function openPartial(
  root: string,
  destDir: string,
  target: string,
  /** The folder chain was just checked by `checkFolder` (batches check each folder once). */
  folderChecked = false,
): Promise<Partial> {
  const path = partialPath(target);
  let fd: number;
  try {
    if (!folderChecked) await checkFolderChain(root, destDir, dirname(target), target);
    fd = await openFd(path, PARTIAL_FLAGS, 0o644);
  } catch (err) {
    if (err instanceof XnatLocalFileError) throw err;
    throw localFileError('write', path, err);
  }
  return adopt(root, destDir, target, path, fd);
}

/**
 * `openPartial` for a folder `checkFolder` just checked, written whole at once: for batches of small
 * files, where a thread hand-off per system call costs more than the calls themselves.
 */
export function writePartialSync(root: string, destDir: string, target: string, data: Uint8Array): Partial {
  const path = partialPath(target);
  let fd: number;
  try {
    fd = openSync(path, PARTIAL_FLAGS, 0o644);
  } catch (err) {
    throw localFileError('write', path, err);
  }
  const partial = adopt(root, destDir, target, path, fd);
  try {
    for (let at = 0; at < data.length;) at += writeSync(fd, data, at);
  } catch (err) {
    discardPartial(partial);
    throw localFileError('write', path, err);
  }
  return partial;
}

/** Removes a temporary file where it really is now (its folder may have moved meanwhile). */
export function discardPartial(partial: Partial): void {
  live.delete(partial.path);
  let where = partial.path;
  if (partial.fd >= 0) {
    try {
      where = realLocation(partial.fd, partial.path);
    } catch {
      // Its folder is gone: try the name it was given.
    }
    closeQuietly(partial.fd);
    partial.fd = -1;
  }
  // Only our own file: after a move it may be gone, or another file may have taken its old name.
  const info = lstatSync(where, { throwIfNoEntry: false });
  if (info !== undefined && info.dev === partial.dev && info.ino === partial.ino) {
    try {
      unlinkSync(where);
    } catch {
      // Removed meanwhile.
    }
  }
}

/** Checks that `folder` (where `target` goes) is still inside the destination, with no link along it. */
export async function checkFolder(
  root: string,
  destDir: string,
  folder: string,
  target: string,
): Promise<void> {
  await checkFolderChain(root, destDir, folder, target);
  if (!within(root, await realpath(folder))) throw leftRoot(target, destDir);
}

/** A verified temporary file and where it goes. */
export interface Placement {
  partial: Partial;
  target: string;
}

/**
 * Verifies, right before the move into place, that temporary files are on disk, still ours and
 * their folders still inside the root (Node has no renameat, so this is checked by path, just in
 * time), then closes them. Many files are checked together: their data is flushed together
 * (`flushData`), and each folder is checked once.
 */
export async function checkBeforePlacing(
  root: string,
  destDir: string,
  items: readonly Placement[],
): Promise<void> {
  // On disk before any is visible under its final name.
  await flushData(items);
  const folders = new Map(items.map(({ target }) => [dirname(target), target]));
  for (const [folder, target] of folders) await checkFolder(root, destDir, folder, target);
  for (const { partial, target } of items) {
    const now = lstatSync(partial.path, { throwIfNoEntry: false });
    if (now === undefined || now.dev !== partial.dev || now.ino !== partial.ino)
      throw leftRoot(target, destDir);
  }
  for (const { partial } of items) {
    const { fd } = partial;
    partial.fd = -1;
    closeSync(fd);
  }
}

/** From this many files on, one flush of their file system costs less than a flush per file. */
const FLUSH_TOGETHER = 64;
/** GNU coreutils' and BusyBox's `sync -f` is syncfs(2), which Node does not offer. */
const SYNC_COMMANDS = ['/usr/bin/sync', '/bin/sync'];
let syncCommand: string | null | undefined;

/**
 * Puts the files' data on disk. Many files: one `sync -f` per file system they are on (here 2,000
 * small files flushed that way cost a fifth of 2,000 overlapping fdatasyncs, which also slow the
 * creation of the next files). Few files, or no such command, or its failure: fdatasync each, which
 * then reports the error of the file that has one.
 */
async function flushData(items: readonly Placement[]): Promise<void> {
  if (items.length >= FLUSH_TOGETHER && process.platform === 'linux') {
    syncCommand ??= SYNC_COMMANDS.find((command) => existsSync(command)) ?? null;
    if (syncCommand !== null) {
      const command = syncCommand;
      const oneFolderPerDevice = new Map(items.map(({ partial }) => [partial.dev, dirname(partial.path)]));
      const flushed = await Promise.all(
        [...oneFolderPerDevice.values()].map(
          (folder) =>
            new Promise<boolean>((resolve) =>
              execFile(command, ['-f', folder], { windowsHide: true }, (err) => resolve(err === null)),
            ),
        ),
      );
      if (flushed.every(Boolean)) return;
    }
  }
  await Promise.all(items.map(({ partial }) => fdatasyncFd(partial.fd)));
}

/**
 * Moves a checked temporary file into place (or removes it); false when a file appeared at the
 * target meanwhile and was kept. Without overwrite a hard link refuses to replace a file that
 * appeared in the meantime (no clobbering race); file systems without hard links fall back to a check.
 */
export function placePartial(partial: Partial, target: string, overwrite: boolean): boolean {
  const placed = moveIntoPlace(partial.path, target, overwrite);
  if (placed) releasePartial(partial);
  else discardPartial(partial);
  return placed;
}

function moveIntoPlace(partial: string, target: string, overwrite: boolean): boolean {
  try {
    if (overwrite) {
      renameSync(partial, target);
      return true;
    }
    try {
      linkSync(partial, target);
    } catch (err) {
      const code = fsErrorCode(err);
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw err;
      if (lstatSync(target, { throwIfNoEntry: false }) !== undefined) return false;
      renameSync(partial, target);
      return true;
    }
    unlinkSync(partial);
    return true;
  } catch (err) {
    throw localFileError('write', target, err);
  }
}

/**
 * Flushes a folder's entries, so that files moved into it keep their names after a power loss.
 * Best effort: some platforms (Windows) cannot open or flush a folder.
 */
export async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0)).catch(() => undefined);
  if (handle === undefined) return;
  await handle
    .sync()
    .catch(() => undefined)
    .finally(() => handle.close().catch(() => undefined));
}

/**
 * A pipeline sink that writes through the temporary file's descriptor. It stays open (a stream
 * would close it): it says where the file really is until the file is placed or removed.
 * `onError` hears a local write failure before it is thrown.
 */
export function partialSink(
  partial: Partial,
  onError: (err: unknown) => void,
): (source: AsyncIterable<Buffer>) => Promise<void> {
  return async (source) => {
    for await (const chunk of source) {
      for (let at = 0; at < chunk.length;) {
        const written = await writeFd(partial.fd, chunk, at).catch((err: unknown) => {
          onError(err);
          throw err;
        });
        at += written;
      }
    }
  };
}

/** The temporary file is placed (or removed): no longer live. */
export function releasePartial(partial: Partial): void {
  live.delete(partial.path);
}

/**
 * Removes temporary files a killed process left in `folder`: only our own names, only regular
 * files, only ones no transfer of this process holds and last written before this process started
 * (so a concurrent server's download in the same folder is left alone).
 */
export async function sweepPartials(folder: string): Promise<void> {
  const names = await readdir(folder).catch(() => [] as string[]);
  for (const name of names) {
    if (!OURS.test(name)) continue;
    const path = join(folder, name);
    if (live.has(path)) continue;
    const info = await lstat(path).catch(() => undefined);
    if (info === undefined || !info.isFile() || info.mtimeMs >= PROCESS_START) continue;
    await unlink(path).catch(() => undefined);
  }
}
