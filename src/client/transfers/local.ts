/** Local folders: every regular file below one, for uploads and imports of a whole folder. */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { localFileError } from '../errors.js';

export interface LocalFile {
  localPath: string;
  /** Path below the folder, `/`-separated. */
  relativePath: string;
  size: number;
}

/**
 * Every regular file below a folder. Symbolic links are not followed (they could lead outside the
 * folder the caller was allowed to read); they are returned as `skipped`.
 */
export async function listLocalFiles(folder: string): Promise<{ files: LocalFile[]; skipped: string[] }> {
  const files: LocalFile[] = [];
  const skipped: string[] = [];
  const walk = async (dir: string, prefix: string[]): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      throw localFileError('read the folder', dir, err);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path, [...prefix, entry.name]);
      else if (entry.isFile()) {
        const size = await stat(path).then(
          (info) => info.size,
          (err: unknown) => {
            throw localFileError('read', path, err);
          },
        );
        files.push({ localPath: path, relativePath: [...prefix, entry.name].join('/'), size });
      } else skipped.push(path);
    }
  };
  await walk(folder, []);
  return { files, skipped };
}
