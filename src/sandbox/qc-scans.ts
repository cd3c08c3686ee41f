/**
 * The per-scan ratings of a manual QC assessment (`xnat:qcManualAssessorData/scans/scan`, elements
 * of type `xnat:qcScanData`), as XNAT takes them: inside a submitted XML document
 * (`<xnat:scans><xnat:scan><xnat:imageScan_ID>...`) or as indexed xpaths, the way XNAT's own edit
 * form names them (`xnat:qcManualAssessorData/scans/scan[0]/rating`, 0-based; an index past the end
 * adds a scan).
 */
import type { SandboxArchive, StoredExperiment, StoredQcScan } from './model.js';
import type { Submission } from './submission.js';
import { IMAGE_SCAN_DATA, typeLineage } from './types.js';

export const QC_MANUAL_ASSESSOR = 'xnat:qcManualAssessorData';
export const QC_SCAN_DATA = 'xnat:qcScanData';

/** xnat:qcScanData's leaves in xnat.xsd's order (`rating/scale` is rating's attribute). */
export const QC_SCAN_LEAVES = [
  'imageScan_ID',
  'rater',
  'coverage',
  'motion',
  'otherImageArtifacts',
  'comments',
  'pass',
  'rating',
  'rating/scale',
];

/** The assessment's own leaves written before its `scans` (xnat.xsd's order); the rest come after. */
export const QC_BEFORE_SCANS = ['rater', 'stereotacticMarker', 'incidentalFindings'];

const INDEXED = /^scans\/scan\[(\d+)\]\/(.+)$/i;

export function isQcManualAssessment(xsiType: string): boolean {
  return typeLineage(xsiType).includes(QC_MANUAL_ASSESSOR);
}

/** The schema's spelling of a leaf; unknown leaves are ignored, as XNAT ignores unknown fields. */
function leaf(path: string): string | undefined {
  const lower = path.toLowerCase();
  return QC_SCAN_LEAVES.find((l) => l.toLowerCase() === lower);
}

function newQcScan(archive: SandboxArchive, xsiType: string): StoredQcScan {
  const key = archive.sequences.qcScan ?? 1;
  archive.sequences.qcScan = key + 1;
  return { xsiType, xnatQcscandataId: key, values: {} };
}

function setLeaves(scan: StoredQcScan, values: Array<[string, string]>): void {
  for (const [path, value] of values) {
    const name = leaf(path);
    if (name === undefined) continue;
    if (value === '') delete scan.values[name];
    else scan.values[name] = value;
  }
}

/**
 * Applies a submission's per-scan ratings to a manual QC assessment and returns the values left
 * for the assessment itself. A document's scan updates the rating of the same image scan, else is
 * added; an indexed xpath sets the scan at that position.
 */
export function applyQcScans(
  archive: SandboxArchive,
  assessor: StoredExperiment,
  submission: Submission,
): Array<[string, string]> {
  if (!isQcManualAssessment(assessor.xsiType)) return submission.values;
  const scans = (assessor.qcScans ??= []);
  for (const document of submission.scans) {
    const id = document.values.find(([p]) => p.toLowerCase() === 'imagescan_id')?.[1];
    let scan = id === undefined ? undefined : scans.find((s) => s.values.imageScan_ID === id);
    if (!scan) {
      const type = document.xsiType && document.xsiType !== IMAGE_SCAN_DATA ? document.xsiType : QC_SCAN_DATA;
      scan = newQcScan(archive, type);
      scans.push(scan);
    }
    setLeaves(scan, document.values);
  }
  const rest: Array<[string, string]> = [];
  for (const [path, value] of submission.values) {
    const indexed = INDEXED.exec(path);
    if (!indexed) {
      rest.push([path, value]);
      continue;
    }
    const index = Number(indexed[1]);
    while (scans.length <= index) scans.push(newQcScan(archive, QC_SCAN_DATA));
    setLeaves(scans[index]!, [[indexed[2]!, value]]);
  }
  return rest;
}
