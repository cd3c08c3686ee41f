/**
 * The temporary files of downloads: created inside the destination with no link followed (the
 * check happens when the file is opened, not only before XNAT is asked), moved into place only while
 * their folder is still inside it, and swept when a killed process left them behind.
 */
import { randomBytes } from 'node:crypto';
import {
  close as closeCb,
  closeSync,
  constants,
  fdatasync as fdatasyncCb,
  fstat as fstatCb,
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
import { link, lstat, open, readdir, realpath, rename, statfs, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { XnatLocalFileError, fsErrorCode, localFileError } from '../errors.js';
import { syncFileSystem } from './fs-sync.js';

const MARKER = '.xnat-mcp-partial-';
/** Only names this module makes: `.<file name>.xnat-mcp-partial-<12 hex digits>`. */
const OURS = /^\..+\.xnat-mcp-partial-[0-9a-f]{12}$/;

/** Whole milliseconds since the epoch at which this process started. */
const PROCESS_START = Math.floor(performance.timeOrigin);

/** Temporary files this process is writing now: never swept. */
const live = new Set<string>();

/**
 * The file calls made on temporary files. On a local disk they are made synchronously: each takes
 * microseconds, less than handing it to the thread pool and back, which for thousands of small files
 * is most of the time. Elsewhere (a network file system, which may stall) they go through the pool,
 * so a stalled disk never stalls the server. Temporary files are plain descriptors, which both kinds
 * of call share (a FileHandle cannot come from a synchronous open).
 */
interface FileCalls {
  open(path: string, flags: number, mode: number): number | Promise<number>;
  identity(fd: number): { dev: number; ino: number } | Promise<{ dev: number; ino: number }>;
  write(fd: number, data: Uint8Array, at: number): number | Promise<number>;
  /** Undefined when nothing is there. */
  lstat(
    path: string,
  ): { dev: number; ino: number } | undefined | Promise<{ dev: number; ino: number } | undefined>;
  close(fd: number): void | Promise<void>;
  rename(from: string, to: string): void | Promise<void>;
  link(from: string, to: string): void | Promise<void>;
  unlink(path: string): void | Promise<void>;
}

const callback =
  <T>(resolve: (value: T) => void, reject: (err: unknown) => void) =>
  (err: NodeJS.ErrnoException | null, value: T): void =>
    err ? reject(err) : resolve(value);

const SYNC_CALLS: FileCalls = {
  open: (path, flags, mode) => openSync(path, flags, mode),
  identity: (fd) => fstatSync(fd),
  write: (fd, data, at) => writeSync(fd, data, at),
  lstat: (path) => lstatSync(path, { throwIfNoEntry: false }),
  close: (fd) => closeSync(fd),
  rename: (from, to) => renameSync(from, to),
  link: (from, to) => linkSync(from, to),
  unlink: (path) => unlinkSync(path),
};

const POOLED_CALLS: FileCalls = {
  open: (path, flags, mode) =>
    new Promise((resolve, reject) => openCb(path, flags, mode, callback(resolve, reject))),
  identity: (fd) => new Promise((resolve, reject) => fstatCb(fd, callback(resolve, reject))),
  write: (fd, data, at) =>
    new Promise((resolve, reject) =>
      writeCb(fd, data, at, data.length - at, null, callback(resolve, reject)),
    ),
  lstat: (path) =>
    lstat(path).catch((err: unknown) => (fsErrorCode(err) === 'ENOENT' ? undefined : Promise.reject(err))),
  close: (fd) => new Promise((resolve, reject) => closeCb(fd, (err) => (err ? reject(err) : resolve()))),
  rename: (from, to) => rename(from, to),
  link: (from, to) => link(from, to),
  unlink: (path) => unlink(path),
};

const fdatasyncFd = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fdatasyncCb(fd, (err) => (err ? reject(err) : resolve())));

/** File systems whose calls return in microseconds and never wait on a network (statfs magic numbers). */
const LOCAL_DISKS = new Set([
  0xef53, // ext2, ext3, ext4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0xf2f52010, // f2fs
  0x2fc12fc1, // zfs
  0x794c7630, // overlayfs (containers), over a local disk
]);

/** Whether `folder` is on a local disk, where temporary files are handled synchronously (Linux only). */
export async function onLocalDisk(folder: string): Promise<boolean> {
  if (process.platform !== 'linux') return false;
  const info = await statfs(folder).catch(() => undefined);
  return info !== undefined && LOCAL_DISKS.has(Number(info.type));
}

/** An open temporary file: its path, its descriptor and its identity. */
export interface Partial {
  path: string;
  /** -1 once closed (checked and about to be placed): a closed number may be reused by another file. */
  fd: number;
  dev: number;
  ino: number;
  calls: FileCalls;
}

export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

const within = (root: string, path: string): boolean => path === root || isInside(root, path);

/** `within` for a path the kernel gave (no `.`/`..`, no doubled separators): a prefix check does. */
function canonicallyWithin(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

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
      if (name.startsWith('/')) return name;
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
  // `target` is already a normal path: plain concatenation, no join (thousands of names at a time).
  return `${dirname(target)}${sep}.${basename(target)}${MARKER}${unique}`;
}

/**
 * Takes an opened temporary file on, once it is verified to be inside the root where it really is
 * (a folder swapped in between cannot take the download out of the root); else removes it.
 */
async function adopt(
  where: { root: string; destDir: string; target: string },
  path: string,
  fd: number,
  calls: FileCalls,
): Promise<Partial> {
  try {
    const realPath = realLocation(fd, path);
    if (!canonicallyWithin(where.root, dirname(realPath))) {
      await Promise.resolve(calls.unlink(realPath)).catch(() => undefined);
      throw leftRoot(where.target, where.destDir);
    }
    const { dev, ino } = await calls.identity(fd);
    live.add(path);
    return { path, fd, dev, ino, calls };
  } catch (err) {
    await Promise.resolve(calls.close(fd)).catch(() => undefined);
    if (err instanceof XnatLocalFileError) throw err;
    throw localFileError('write', path, err);
  }
}

/**
 * Creates the temporary file for `target` below `destDir` (resolved: `root`). Refuses a link as
 * the file or along its folders (`O_NOFOLLOW`, `O_EXCL`, the chain checked), and then verifies where
 * the opened file really is. `local`: the destination is on a local disk (`onLocalDisk`).
 */
export async function openPartial(
  root: string,
  destDir: string,
  target: string,
  options: {
    /** The folder chain was just checked by `checkFolder` (batches check each folder once). */
    folderChecked?: boolean;
    local?: boolean;
  } = {},
): Promise<Partial> {
  const path = partialPath(target);
  const calls = options.local === true ? SYNC_CALLS : POOLED_CALLS;
  let fd: number;
  try {
    if (options.folderChecked !== true) await checkFolderChain(root, destDir, dirname(target), target);
    fd = await calls.open(path, PARTIAL_FLAGS, 0o644);
  } catch (err) {
    if (err instanceof XnatLocalFileError) throw err;
    throw localFileError('write', path, err);
  }
  return adopt({ root, destDir, target }, path, fd, calls);
}

/** `openPartial` for a folder `checkFolder` just checked, with all of `data` written, then closed. */
export async function writePartial(
  root: string,
  destDir: string,
  target: string,
  data: Uint8Array,
  local: boolean,
): Promise<Partial> {
  const partial = await openPartial(root, destDir, target, { folderChecked: true, local });
  try {
    for (let at = 0; at < data.length;) at += await partial.calls.write(partial.fd, data, at);
    // Closed at once: thousands of open descriptors make every open slower (the kernel grows the
    // process's descriptor table in steps that wait for its other threads). Flushing needs none.
    const { fd } = partial;
    partial.fd = -1;
    await partial.calls.close(fd);
  } catch (err) {
    await discardPartial(partial);
    throw localFileError('write', partial.path, err);
  }
  return partial;
}

/** Removes a temporary file where it really is now (its folder may have moved meanwhile). */
export async function discardPartial(partial: Partial): Promise<void> {
  live.delete(partial.path);
  const { calls } = partial;
  let where = partial.path;
  if (partial.fd >= 0) {
    try {
      where = realLocation(partial.fd, partial.path);
    } catch {
      // Its folder is gone: try the name it was given.
    }
    const { fd } = partial;
    partial.fd = -1;
    await Promise.resolve(calls.close(fd)).catch(() => undefined);
  }
  // Only our own file: after a move it may be gone, or another file may have taken its old name.
  const info = await Promise.resolve(calls.lstat(where)).catch(() => undefined);
  if (info !== undefined && info.dev === partial.dev && info.ino === partial.ino) {
    await Promise.resolve(calls.unlink(where)).catch(() => undefined);
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
    const now = await partial.calls.lstat(partial.path);
    if (now === undefined || now.dev !== partial.dev || now.ino !== partial.ino)
      throw leftRoot(target, destDir);
  }
  for (const { partial } of items) {
    const { fd } = partial;
    if (fd < 0) continue;
    partial.fd = -1;
    await partial.calls.close(fd);
  }
}

/** From this many files on, one flush of their file system costs less than a flush per file. */
const FLUSH_TOGETHER = 64;
/**
 * Puts the files' data on disk. Many files: one `sync -f` per file system they are on (here 2,000
 * small files flushed that way cost a fifth of 2,000 overlapping fdatasyncs, which also slow the
 * creation of the next files). Few files, or no such command, or its failure: fdatasync each, which
 * then reports the error of the file that has one.
 */
async function flushData(items: readonly Placement[]): Promise<void> {
  if (items.length >= FLUSH_TOGETHER) {
    const oneFolderPerDevice = new Map(items.map(({ partial }) => [partial.dev, dirname(partial.path)]));
    const flushed = await Promise.all([...oneFolderPerDevice.values()].map(syncFileSystem));
    if (flushed.every(Boolean)) return;
  }
  await Promise.all(items.map(({ partial }) => fdatasyncPartial(partial)));
}

/**
 * Starts writing what is already written below `folder` to disk, without waiting: files that are
 * still arriving then cost the flush before their placing (checkBeforePlacing) less. Only ever an
 * early start: that flush still happens.
 */
export function flushEarly(folder: string): void {
  void syncFileSystem(folder);
}

/** Flushes one file's data: through its descriptor, or a new one when it was closed after writing. */
async function fdatasyncPartial(partial: Partial): Promise<void> {
  if (partial.fd >= 0) return fdatasyncFd(partial.fd);
  const fd = await POOLED_CALLS.open(partial.path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0), 0);
  try {
    const { dev, ino } = await POOLED_CALLS.identity(fd);
    // Someone else's file now has the name: placing is refused later (checkBeforePlacing).
    if (dev === partial.dev && ino === partial.ino) await fdatasyncFd(fd);
  } finally {
    await POOLED_CALLS.close(fd);
  }
}

/**
 * Moves a checked temporary file into place (or removes it); false when a file appeared at the
 * target meanwhile and was kept. Without overwrite a hard link refuses to replace a file that
 * appeared in the meantime (no clobbering race); file systems without hard links fall back to a check.
 */
export async function placePartial(partial: Partial, target: string, overwrite: boolean): Promise<boolean> {
  const placed = await moveIntoPlace(partial.calls, partial.path, target, overwrite);
  if (placed) releasePartial(partial);
  else await discardPartial(partial);
  return placed;
}

async function moveIntoPlace(
  calls: FileCalls,
  partial: string,
  target: string,
  overwrite: boolean,
): Promise<boolean> {
  try {
    if (overwrite) {
      await calls.rename(partial, target);
      return true;
    }
    try {
      await calls.link(partial, target);
    } catch (err) {
      const code = fsErrorCode(err);
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw err;
      if ((await calls.lstat(target)) !== undefined) return false;
      await calls.rename(partial, target);
      return true;
    }
    await calls.unlink(partial);
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
        try {
          at += await partial.calls.write(partial.fd, chunk, at);
        } catch (err) {
          onError(err);
          throw err;
        }
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
