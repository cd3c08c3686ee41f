/**
 * The BIDS plan, without any request: every scan of the chosen sessions either gets its path
 * (`sub-<label>/ses-<label>/<datatype>/sub-..._ses-..._<entities>_<suffix>`) or a reason it has none.
 * Scans a map sends to the same name within one session are numbered `run-01`, `run-02`, ... in scan
 * order; names still shared after that (labels that reduce to the same BIDS label) are collisions,
 * reported and left out rather than overwritten.
 */
import type { XnatFile } from '../models.js';
import { compileMapping, type BidsMapping, type BidsScanInfo } from './mapping.js';
import { bidsLabel, fileStem, type BidsName } from './names.js';

export interface BidsScanInput extends BidsScanInfo {
  quality: string;
  /** Files of the scan's NIFTI resource (empty when it has none). */
  nifti: XnatFile[];
}

export interface BidsSessionInput {
  /** Accession ID. */
  experiment: string;
  label: string;
  date: string;
  subject: { id: string; label: string };
  scans: BidsScanInput[];
}

export interface BidsPlanOptions {
  mapping: BidsMapping;
  /** `strip-subject` (default): `BMR001_MR1` of subject BMR001 becomes `ses-MR1`; `label`: the whole label. */
  sessionLabels?: 'strip-subject' | 'label';
  /** Scans rated unusable are left out unless this is true. */
  includeUnusable?: boolean;
}

/** Where the scan's NIfTI files come from. */
export interface BidsSource {
  image: XnatFile;
  bval?: XnatFile;
  bvec?: XnatFile;
  /** dcm2niix's sidecar beside the image, when XNAT has one. */
  sidecar?: XnatFile;
}

export interface BidsScanRef {
  experiment: string;
  session: string;
  subject: string;
  scan: string;
  seriesDescription: string;
  type: string;
}

export interface BidsPlannedScan extends BidsScanRef, BidsName {
  /** Relative path without extension, `/`-separated. */
  path: string;
  /** The map entry that placed it. */
  rule: string;
  /** Undefined: the scan has no NIfTI in XNAT (reported, not exported). */
  source?: BidsSource;
}

export interface BidsPlan {
  mapping: BidsMapping['source'];
  subjects: Array<{ id: string; label: string; bids: string }>;
  sessions: Array<{ experiment: string; label: string; subject: string; bids: string; date: string }>;
  scans: BidsPlannedScan[];
  unmapped: Array<BidsScanRef & { reason: string }>;
  collisions: Array<{ path: string; scans: BidsScanRef[]; reason: string }>;
}

/** Scan IDs in acquisition order: numerically when they are numbers. */
const byScanId = (a: { scan: string }, b: { scan: string }): number =>
  a.scan.localeCompare(b.scan, 'en', { numeric: true });

function sessionLabel(session: BidsSessionInput, style: 'strip-subject' | 'label'): string {
  const whole = bidsLabel(session.label);
  if (style === 'label') return whole;
  const subject = session.subject.label.toLowerCase();
  const label = session.label;
  if (label.toLowerCase().startsWith(subject) && label.length > subject.length) {
    const rest = bidsLabel(label.slice(subject.length));
    if (rest !== '') return rest;
  }
  return whole;
}

/** The NIfTI image of a scan and its companions; a reason when XNAT holds several images for it. */
function sourceOf(files: XnatFile[]): BidsSource | { reason: string } | undefined {
  const images = files.filter((f) => /\.nii(\.gz)?$/i.test(f.path));
  const image = images[0];
  if (!image) return undefined;
  if (images.length > 1) {
    return {
      reason: `its NIFTI resource holds ${images.length} images (${images.map((f) => f.path).join(', ')}), e.g. echoes or a split series: export them by hand`,
    };
  }
  const stem = image.path.replace(/\.nii(\.gz)?$/i, '');
  const beside = (ext: string) =>
    files.find((f) => f.path === `${stem}${ext}`) ?? files.filter((f) => f.path.endsWith(ext))[0];
  const source: BidsSource = { image };
  const [bval, bvec, sidecar] = [beside('.bval'), beside('.bvec'), beside('.json')];
  if (bval) source.bval = bval;
  if (bvec) source.bvec = bvec;
  if (sidecar) source.sidecar = sidecar;
  return source;
}

export function planBids(sessions: readonly BidsSessionInput[], options: BidsPlanOptions): BidsPlan {
  const match = compileMapping(options.mapping);
  const plan: BidsPlan = {
    mapping: options.mapping.source,
    subjects: [],
    sessions: [],
    scans: [],
    unmapped: [],
    collisions: [],
  };
  const subjects = new Map<string, { id: string; label: string; bids: string }>();
  const placed: BidsPlannedScan[] = [];
  for (const session of sessions) {
    const sub = bidsLabel(session.subject.label);
    const ses = sessionLabel(session, options.sessionLabels ?? 'strip-subject');
    subjects.set(session.subject.id, { ...session.subject, bids: sub });
    plan.sessions.push({
      experiment: session.experiment,
      label: session.label,
      subject: session.subject.label,
      bids: ses,
      date: session.date,
    });
    const inSession: BidsPlannedScan[] = [];
    for (const scan of session.scans) {
      const ref: BidsScanRef = {
        experiment: session.experiment,
        session: session.label,
        subject: session.subject.label,
        scan: scan.id,
        seriesDescription: scan.seriesDescription,
        type: scan.type,
      };
      if (sub === '' || ses === '') {
        plan.unmapped.push({ ...ref, reason: 'the subject or session label has no letters or digits' });
        continue;
      }
      if (scan.quality === 'unusable' && options.includeUnusable !== true) {
        plan.unmapped.push({ ...ref, reason: 'rated unusable (includeUnusable exports it)' });
        continue;
      }
      const found = match(scan);
      if ('reason' in found) {
        plan.unmapped.push({ ...ref, reason: found.reason });
        continue;
      }
      const source = sourceOf(scan.nifti);
      if (source && 'reason' in source) {
        plan.unmapped.push({ ...ref, reason: source.reason });
        continue;
      }
      const planned: BidsPlannedScan = {
        ...ref,
        ...found.name,
        entities: { ...found.name.entities },
        path: '',
        rule: found.rule,
      };
      if (source) planned.source = source;
      inSession.push(planned);
    }
    numberRuns(inSession, sub, ses);
    placed.push(...inSession);
  }
  plan.subjects = [...subjects.values()];
  keepUnique(placed, plan);
  return plan;
}

/** Same name within a session (the map gave no run): run-01, run-02, ... in scan order. */
function numberRuns(scans: BidsPlannedScan[], sub: string, ses: string): void {
  const groups = new Map<string, BidsPlannedScan[]>();
  for (const scan of scans) {
    scan.path = `sub-${sub}/ses-${ses}/${scan.datatype}/${fileStem(sub, ses, scan)}`;
    if (scan.entities.run !== undefined) continue;
    groups.set(scan.path, [...(groups.get(scan.path) ?? []), scan]);
  }
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const width = Math.max(2, String(group.length).length);
    group.sort(byScanId).forEach((scan, i) => {
      scan.entities.run = String(i + 1).padStart(width, '0');
      scan.path = `sub-${sub}/ses-${ses}/${scan.datatype}/${fileStem(sub, ses, scan)}`;
    });
  }
}

/** Names two scans would share (labels reducing alike, runs given by the map): all of them left out. */
function keepUnique(placed: BidsPlannedScan[], plan: BidsPlan): void {
  const byPath = new Map<string, BidsPlannedScan[]>();
  for (const scan of placed) byPath.set(scan.path, [...(byPath.get(scan.path) ?? []), scan]);
  for (const [path, scans] of byPath) {
    if (scans.length === 1 && scans[0]) {
      plan.scans.push(scans[0]);
      continue;
    }
    const sessions = new Set(scans.map((s) => s.experiment));
    plan.collisions.push({
      path,
      scans: scans.map(({ experiment, session, subject, scan, seriesDescription, type }) => ({
        experiment,
        session,
        subject,
        scan,
        seriesDescription,
        type,
      })),
      reason:
        sessions.size > 1
          ? 'different XNAT sessions reduce to the same BIDS subject and session labels'
          : 'the map gives these scans the same name, run included',
    });
  }
  plan.scans.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
