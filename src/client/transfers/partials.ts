/**
 * The temporary files of downloads: created inside the destination with no link followed (the
 * check happens when the file is opened, not only before XNAT is asked), moved into place only while
 * their folder is still inside it, and swept when a killed process left them behind.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import {
  link,
  lstat,
  open,
  readdir,
  readlink,
  realpath,
  rename,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { XnatLocalFileError, fsErrorCode, localFileError } from '../errors.js';

const MARKER = '.xnat-mcp-partial-';
/** Only names this module makes: `.<file name>.xnat-mcp-partial-<12 hex digits>`. */
const OURS = /^\..+\.xnat-mcp-partial-[0-9a-f]{12}$/;

/** Whole milliseconds since the epoch at which this process started. */
const PROCESS_START = Math.floor(performance.timeOrigin);

/** Temporary files this process is writing now: never swept. */
const live = new Set<string>();

/** An open temporary file: its path and its identity. */
export interface Partial {
  path: string;
  handle: FileHandle;
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
async function realLocation(handle: FileHandle, path: string): Promise<string> {
  if (process.platform === 'linux') {
    const name = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
    if (name !== undefined && isAbsolute(name)) return name;
  }
  return join(await realpath(dirname(path)), basename(path));
}

/**
 * Creates the temporary file for `target` below `destDir` (resolved: `root`). Refuses a link as
 * the file or along its folders (`O_NOFOLLOW`, `O_EXCL`, the chain checked), and then verifies where
 * the opened file really is, so a folder swapped in between cannot take the download out of the root.
 */
export async function openPartial(
  root: string,
  destDir: string,
  target: string,
  /** The folder chain was just checked by `checkFolder` (batches check each folder once). */
  folderChecked = false,
): Promise<Partial> {
  const folder = dirname(target);
  const path = join(folder, `.${basename(target)}${MARKER}${randomBytes(6).toString('hex')}`);
  let handle: FileHandle | undefined;
  try {
    if (!folderChecked) await checkFolderChain(root, destDir, folder, target);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
    handle = await open(path, flags, 0o644);
    const realPath = await realLocation(handle, path);
    if (!within(root, dirname(realPath))) {
      await unlink(realPath).catch(() => undefined);
      throw leftRoot(target, destDir);
    }
    const info = await handle.stat();
    live.add(path);
    return { path, handle, dev: info.dev, ino: info.ino };
  } catch (err) {
    await handle?.close().catch(() => undefined);
    if (err instanceof XnatLocalFileError) throw err;
    throw localFileError('write', path, err);
  }
}

/** Removes a temporary file where it really is now (its folder may have moved meanwhile). */
export async function discardPartial(partial: Partial): Promise<void> {
  live.delete(partial.path);
  const where = await realLocation(partial.handle, partial.path).catch(() => partial.path);
  await partial.handle.close().catch(() => undefined);
  // Only our own file: after a move it may be gone, or another file may have taken its old name.
  const info = await lstat(where).catch(() => undefined);
  if (info !== undefined && info.dev === partial.dev && info.ino === partial.ino) {
    await unlink(where).catch(() => undefined);
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
 * time), then closes them. Many files are checked together: their data is flushed by overlapping
 * fdatasyncs rather than one after another, and each folder is checked once.
 */
export async function checkBeforePlacing(
  root: string,
  destDir: string,
  items: readonly Placement[],
): Promise<void> {
  // On disk before any is visible under its final name.
  await Promise.all(items.map(({ partial }) => partial.handle.datasync()));
  const folders = new Map(items.map(({ target }) => [dirname(target), target]));
  for (const [folder, target] of folders) await checkFolder(root, destDir, folder, target);
  await Promise.all(
    items.map(async ({ partial, target }) => {
      const now = await lstat(partial.path).catch(() => undefined);
      if (now === undefined || now.dev !== partial.dev || now.ino !== partial.ino)
        throw leftRoot(target, destDir);
    }),
  );
  await Promise.all(items.map(({ partial }) => partial.handle.close()));
}

/**
 * Moves a checked temporary file into place (or removes it); false when a file appeared at the
 * target meanwhile and was kept. Without overwrite a hard link refuses to replace a file that
 * appeared in the meantime (no clobbering race); file systems without hard links fall back to a check.
 */
export async function placePartial(partial: Partial, target: string, overwrite: boolean): Promise<boolean> {
  const placed = await moveIntoPlace(partial.path, target, overwrite);
  if (placed) releasePartial(partial);
  else await discardPartial(partial);
  return placed;
}

async function moveIntoPlace(partial: string, target: string, overwrite: boolean): Promise<boolean> {
  if (overwrite) {
    await rename(partial, target);
    return true;
  }
  try {
    await link(partial, target);
  } catch (err) {
    const code = fsErrorCode(err);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV')
      throw localFileError('write', target, err);
    if (
      await lstat(target).then(
        () => true,
        () => false,
      )
    )
      return false;
    await rename(partial, target);
    return true;
  }
  await unlink(partial);
  return true;
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
 * A pipeline sink that writes through the temporary file's handle. The handle stays open (a stream
 * would close it, or keep it referenced so it cannot close): it says where the file really is until
 * the file is placed or removed. `onError` hears a local write failure before it is thrown.
 */
export function partialSink(
  partial: Partial,
  onError: (err: unknown) => void,
): (source: AsyncIterable<Buffer>) => Promise<void> {
  return async (source) => {
    for await (const chunk of source) {
      for (let at = 0; at < chunk.length;) {
        const written = await partial.handle.write(chunk, at).catch((err: unknown) => {
          onError(err);
          throw err;
        });
        at += written.bytesWritten;
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
