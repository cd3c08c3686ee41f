/**
 * A small hand-built archive for the sandbox's HTTP tests, independent of the demo seed: four
 * projects of each accessibility, a shared subject and session, a quarantined session, an image
 * assessor, labels with spaces and non-ASCII characters, and files with real MD5 digests.
 */
import { createHash } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import type {
  SandboxArchive,
  SandboxUser,
  StoredExperiment,
  StoredFile,
  StoredProject,
  StoredResource,
  StoredScan,
  StoredSubject,
} from '../../src/sandbox/model.js';
import { startSandbox, type RunningSandbox, type SandboxOptions } from '../../src/sandbox/index.js';

export const UNICODE_SUBJECT = 'Sujet Éloïse 07';
export const MODIFIED = Date.UTC(2020, 0, 2, 3, 4, 5);

function user(xdatUserId: number, login: string, admin = false): SandboxUser {
  return {
    xdatUserId,
    login,
    password: `${login}-pw`,
    firstname: login[0]?.toUpperCase() + login.slice(1),
    lastname: 'Tester',
    email: `${login}@example.org`,
    admin,
    enabled: true,
  };
}

export function file(path: string, text: string, format = 'DICOM', content = 'RAW'): StoredFile {
  const bytes = Buffer.from(text, 'utf8');
  return {
    path,
    size: bytes.length,
    digest: createHash('md5').update(bytes).digest('hex'),
    format,
    content,
    tags: [],
    bytes: () => Buffer.from(bytes),
    lastModified: MODIFIED,
  };
}

let resourceId = 100;
function resource(label: string, format: string, files: StoredFile[], content = 'RAW'): StoredResource {
  return {
    xnatAbstractresourceId: resourceId++,
    label,
    xsiType: 'xnat:resourceCatalog',
    format,
    content,
    description: '',
    tags: [],
    files,
  };
}

function project(
  id: string,
  accessibility: StoredProject['accessibility'],
  users: StoredProject['users'],
): StoredProject {
  return {
    id,
    secondaryId: `${id}_sec`,
    name: `${id} name`,
    description: `The ${id} project`,
    keywords: '',
    piFirstname: 'Pat',
    piLastname: 'Investigator',
    accessibility,
    aliases: [],
    fields: {},
    users,
    quarantineCode: 0,
    prearchiveCode: 4,
    insertDate: '2017-01-01 10:00:00.000',
    insertUser: 'admin',
    resources: [],
  };
}

function subject(id: string, projectId: string, label: string): StoredSubject {
  return {
    id,
    project: projectId,
    label,
    group: 'control',
    src: '',
    initials: '',
    demographics: { gender: 'female', handedness: 'right', yob: 1970 },
    fields: {},
    shares: [],
    status: 'active',
    insertDate: '2018-01-05 09:10:11.123',
    insertUser: 'alice',
    lastModified: '2018-01-05 09:10:11.123',
    resources: [],
  };
}

let scanKey = 500;
function scan(id: string, type: string, xsiType: string, files: StoredFile[]): StoredScan {
  return {
    id,
    xnatImagescandataId: scanKey++,
    xsiType,
    type,
    seriesDescription: `${type} series`,
    quality: 'usable',
    condition: '',
    note: '',
    frames: 176,
    uid: `1.2.3.${id}`,
    modality: xsiType === 'xnat:mrScanData' ? 'MR' : 'PT',
    startTime: '09:37:11',
    parameters: { 'parameters/tr': 2400, 'parameters/voxelRes/x': 1 },
    insertDate: '2018-07-08 10:00:00.000',
    insertUser: 'alice',
    lastModified: '2018-07-08 10:00:00.000',
    resources: files.length > 0 ? [resource('DICOM', 'DICOM', files)] : [],
  };
}

function experiment(
  id: string,
  xsiType: string,
  projectId: string,
  label: string,
  subjectId: string,
  date: string,
  scans: StoredScan[] = [],
): StoredExperiment {
  return {
    id,
    xsiType,
    project: projectId,
    label,
    subjectId,
    imageSessionId: '',
    date,
    time: '09:12:06',
    visitId: '',
    visit: '',
    note: '',
    acquisitionSite: 'Hospital',
    status: 'active',
    fields: {},
    shares: [],
    attributes: { modality: xsiType === 'xnat:mrSessionData' ? 'MR' : 'PET', UID: `1.2.840.${id}` },
    scans,
    resources: [],
    inResources: [],
    insertDate: `${date} 12:00:00.000`,
    insertUser: 'alice',
    lastModified: `${date} 12:00:00.000`,
  };
}

/**
 * Users: admin (site admin), alice (owner everywhere she needs), bob (collaborator on PROT),
 * eve (no role anywhere). Passwords are `<login>-pw`.
 */
export function createFixtureArchive(): SandboxArchive {
  resourceId = 100;
  scanKey = 500;
  const projects = [
    project('OPEN', 'public', { alice: 'owner' }),
    project('PROT', 'protected', { alice: 'owner', bob: 'collaborator' }),
    project('PRIV', 'private', { alice: 'owner' }),
    project('EVEPRIV', 'private', { eve: 'owner' }),
  ];
  const prot = projects[1] as StoredProject;
  prot.aliases = ['PROTALIAS'];
  prot.description = 'Protected, "members only"';
  prot.fields = { funding: 'R01' };
  prot.resources.push(
    resource('PROTOCOLS', 'TXT', [file('protocol.txt', 'scan protocol v1\n', 'TXT', 'PROTOCOL')]),
  );

  const s1 = subject('XNAT_S00001', 'PROT', 'S1');
  s1.shares.push({ project: 'OPEN', label: 'SHARED_S1' });
  s1.fields = { site: 'north', cohort: 'A' };
  const s2 = subject('XNAT_S00002', 'PROT', UNICODE_SUBJECT);
  const s3 = subject('XNAT_S00003', 'OPEN', 'O1');
  const s4 = subject('XNAT_S00004', 'PRIV', 'P1');

  const mr = experiment('XNAT_E00001', 'xnat:mrSessionData', 'PROT', 'S1_MR1', s1.id, '2018-07-07', [
    scan('1', 'T1w', 'xnat:mrScanData', [file('1.dcm', 'first dicom'), file('sub/2.dcm', 'second dicom')]),
    scan('2', 'BOLD', 'xnat:mrScanData', [file('3.dcm', 'third dicom')]),
  ]);
  mr.shares.push({ project: 'OPEN', label: 'SHARED_MR' });
  mr.fields = { visit_type: 'baseline' };
  mr.attributes = {
    ...mr.attributes,
    'scanner/manufacturer': 'SIEMENS',
    fieldStrength: '3.0',
    dcmPatientWeight: 83.91,
  };
  mr.resources.push(resource('NOTES', 'TXT', [file('notes.txt', 'hello, world\n', 'TXT', 'NOTES')], 'NOTES'));
  const pet = experiment('XNAT_E00002', 'xnat:petSessionData', 'PROT', 'S1 PET 1', s1.id, '2018-07-20');
  const quarantined = experiment('XNAT_E00003', 'xnat:mrSessionData', 'PROT', 'MR Ü 2', s2.id, '2019-01-01');
  quarantined.status = 'quarantine';
  const qc = experiment('XNAT_E00004', 'xnat:qcManualAssessorData', 'PROT', 'S1_MR1_QC', '', '2018-07-09');
  qc.imageSessionId = mr.id;
  qc.attributes = {};
  qc.resources.push(resource('QC', 'PDF', [file('report.pdf', '%PDF-1.4 fake', 'PDF', 'QC')]));
  const open = experiment('XNAT_E00005', 'xnat:mrSessionData', 'OPEN', 'O1_MR1', s3.id, '2020-02-02');
  const priv = experiment('XNAT_E00006', 'xnat:mrSessionData', 'PRIV', 'P1_MR1', s4.id, '2021-03-03');

  return {
    siteId: 'XNAT',
    users: [user(1, 'admin', true), user(2, 'alice'), user(3, 'bob'), user(4, 'eve')],
    tokens: [],
    projects: new Map(projects.map((p) => [p.id, p])),
    subjects: new Map([s1, s2, s3, s4].map((s) => [s.id, s])),
    experiments: new Map([mr, pet, quarantined, qc, open, priv].map((e) => [e.id, e])),
    sequences: { subject: 5, experiment: 7, resource: resourceId, scan: scanKey },
  };
}

export function basic(login: string, password = `${login}-pw`): string {
  return `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;
}

/** The demo archive's passwords, as the README lists them (the tests against the demo archive log in with these). */
const DEMO_PASSWORDS: Record<string, string> = {
  admin: 'admin',
  alice: 'alice123',
  bob: 'bob123',
  carol: 'carol123',
  dave: 'dave123',
};

/** Basic credentials of a demo-archive user. */
export function demoBasic(login: string): string {
  return basic(login, DEMO_PASSWORDS[login] ?? '');
}

/** A started sandbox over the fixture archive, plus a GET helper with Basic auth for a user. */
export async function startFixtureSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  return startSandbox({ archive: createFixtureArchive(), ...options });
}

export async function getAs(
  sandbox: RunningSandbox,
  login: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${sandbox.url}${path}`, { headers: { Authorization: basic(login), ...headers } });
}

export async function resultRows(response: Response): Promise<Array<Record<string, string>>> {
  const body = (await response.json()) as { ResultSet: { Result: Array<Record<string, string>> } };
  return body.ResultSet.Result;
}

/** Set-Cookie headers of a response, by cookie name. */
export function cookiesOf(response: Response): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const line of response.headers.getSetCookie()) {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    cookies.set(pair.slice(0, eq), line);
  }
  return cookies;
}

/** The entries of a zip archive, read from its central directory. */
export function unzip(zip: Buffer): Map<string, Buffer> {
  const entries = new Map<string, Buffer>();
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let offset = zip.readUInt32LE(end + 16);
  for (let i = 0; i < zip.readUInt16LE(end + 10); i++) {
    const method = zip.readUInt16LE(offset + 10);
    const compressed = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const local = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + compressed);
    entries.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
