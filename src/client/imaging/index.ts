/** Pictures of scans, rendered in-process from their DICOM files (see scan-image.ts). */
import { XnatNotFoundError } from '../errors.js';
import type { FileContext, FileTarget } from '../files.js';
import { listFiles } from '../files.js';
import type { XnatFile } from '../models.js';
import { renderNiftiImage, renderScanImage, type ScanImage, type ScanImageRequest } from './scan-image.js';

export { MAX_IMAGE_BYTES, MAX_IMAGE_SIZE, MAX_MONTAGE, WINDOW_PRESETS } from './scan-image.js';
export type { ImageMode, ScanImage, WindowPreset } from './scan-image.js';
export { SUPPORTED_SYNTAXES, type Window } from './decode.js';
export { scanSnapshot, type Snapshot, type SnapshotQuery } from './snapshot.js';

export type ScanImageQuery = Omit<ScanImageRequest, 'files' | 'what'> &
  FileTarget & {
    scan: string;
    /** Resource label; default: the scan's DICOM resource (format or label DICOM), else its .dcm files. */
    resource?: string | undefined;
  };

const DICOM_NAME = /\.(dcm|dicom|ima)$/i;
const NIFTI_NAME = /\.nii(\.gz)?$/i;

/** The scan's DICOM files: those of the named resource, else of DICOM-format resources, else *.dcm. Without any, its first NIfTI file is shown. */
export function dicomFiles(files: XnatFile[], resource: string | undefined): XnatFile[] {
  if (resource !== undefined) return files.filter((f) => f.resource === resource);
  const dicom = files.filter(
    (f) => f.format.toUpperCase() === 'DICOM' || f.resource.toUpperCase() === 'DICOM',
  );
  return dicom.length > 0 ? dicom : files.filter((f) => DICOM_NAME.test(f.name));
}

export async function scanImage(ctx: FileContext, q: ScanImageQuery): Promise<ScanImage> {
  const { experiment, project, scan, resource, ...request } = q;
  const listed = await listFiles(ctx, { experiment, ...(project ? { project } : {}), scan }, q.signal);
  const what = `scan ${scan} of ${experiment}`;
  const files = dicomFiles(listed, resource);
  const nifti = (resource === undefined ? listed : files)
    .filter((f) => NIFTI_NAME.test(f.name))
    .sort((a, b) => a.path.localeCompare(b.path));
  if (files.length === 0 && nifti[0]) return renderNiftiImage(ctx, { ...request, file: nifti[0], what });
  if (files.length === 0) {
    throw new XnatNotFoundError(
      resource === undefined
        ? `Scan ${scan} of ${experiment} has no DICOM files (resources: ${[...new Set(listed.map((f) => f.resource))].join(', ') || 'none'}); pass resource to choose one`
        : `Scan ${scan} of ${experiment} has no files in resource ${resource}`,
    );
  }
  return renderScanImage(ctx, { ...request, files, what });
}
