/**
 * The sandbox's route tables: `/data` (also reachable as `/REST` and `/data/archive`), `/xapi` and
 * the few web-app pages. Writes sit next to the reads they mirror, each a `{ method, pattern, handler }`
 * entry.
 */
import {
  createResource,
  deleteFile,
  deleteResource,
  getCatalog,
  getFile,
  listFiles,
  listResources,
  uploadFiles,
} from './files.js';
import { importService } from './importer.js';
import { getSessionDir } from './session-dir.js';
import { containerRoutes, workflowRoutes } from './containers/routes.js';
import { getSnapshot, getThumbnail } from './snapshots.js';
import {
  getExperiment,
  getProject,
  getProjectSetting,
  getReconstruction,
  getScan,
  getStatus,
  getSubject,
} from './items.js';
import {
  listAssessors,
  listExperiments,
  listItemProjects,
  listProjects,
  listReconstructions,
  listScans,
  listSubjects,
} from './listings.js';
import {
  archiveService,
  deletePrearchiveSession,
  getPrearchiveSession,
  listPrearchive,
  postPrearchiveSession,
  prearchiveBatch,
} from './prearchive.js';
import {
  listPrearchiveResources,
  listPrearchiveScanResources,
  listPrearchiveScans,
  prearchiveFiles,
} from './prearchive-files.js';
import { Router, type Method, type Route } from './router.js';
import { changeProjectUsers, listProjectUsers, listUsers } from './users.js';
import {
  getProfile,
  getUserRoles,
  getUsername,
  listActiveUsers,
  listUserLogins,
  listUserProfiles,
} from './xapi-users.js';
import { getSchema, listSchemas } from './schemas/xsd.js';
import {
  deleteSavedSearch,
  getCachedSearch,
  getSavedSearch,
  listSavedSearches,
  listSearchElements,
  listSearchFields,
  postSearch,
  putSavedSearch,
} from './search-routes.js';
import {
  aliasTokens,
  deleteJsession,
  formLogin,
  getAuth,
  getBuildInfo,
  getBuildInfoProperty,
  getJsession,
  getPlugin,
  getSiteId,
  getUptime,
  homePage,
  listPlugins,
  loginPage,
} from './services.js';
import { dicomDump } from './dicom-dump.js';
import { deleteConfig, getConfig, putConfig } from './config.js';
import {
  deleteAssessor,
  deleteExperiment,
  deleteReconstruction,
  deleteScan,
  deleteSubject,
} from './deletes.js';
import { postExperiment, postSubject, putExperiment, putSubject } from './item-writes.js';
import { deleteProject, postProject, putProject, putProjectSetting } from './project-writes.js';
import { putAssessor, putReconstruction, putScan } from './session-writes.js';
import { deleteShare, putShare } from './shares.js';

type Handler = Extract<Route, { open?: false }>['handler'];
const route =
  (method: Method) =>
  (pattern: string, handler: Handler): Route => ({ method, pattern, handler });
const get = route('GET');
const put = route('PUT');
const post = route('POST');
const del = route('DELETE');

/** ConfigResource, site-wide (`config`) or per project (`projects/{project}/config`). */
function configRoutes(base: string): Route[] {
  return [
    get(base, getConfig),
    get(`${base}/{tool}`, getConfig),
    get(`${base}/{tool}/{path+}`, getConfig),
    put(`${base}/{tool}/{path+}`, putConfig),
    del(`${base}/{tool}/{path+}`, deleteConfig),
  ];
}

/** Sharing of a subject, experiment or assessor into other projects (`.../projects/{dest}`). */
function shareRoutes(item: string): Route[] {
  return [put(`${item}/projects/{dest}`, putShare), del(`${item}/projects/{dest}`, deleteShare)];
}

/**
 * Resource folders and files under any parent (project, subject, experiment, scan, assessor), with
 * FileList's `<parent>/files` shortcut where XNAT registers one.
 */
function resourceRoutes(parent: string, filesShortcut = true): Route[] {
  return [
    get(`${parent}/resources`, listResources),
    get(`${parent}/resources/{resource}`, getCatalog),
    get(`${parent}/resources/{resource}/files`, listFiles),
    get(`${parent}/resources/{resource}/files/{path+}`, getFile),
    ...(filesShortcut ? [get(`${parent}/files`, listFiles)] : []),
    ...(['PUT', 'POST'] as const).flatMap((method): Route[] => [
      { method, pattern: `${parent}/resources/{resource}`, handler: createResource },
      { method, pattern: `${parent}/resources/{resource}/files`, handler: uploadFiles },
      { method, pattern: `${parent}/resources/{resource}/files/{path+}`, handler: uploadFiles },
    ]),
    { method: 'DELETE', pattern: `${parent}/resources/{resource}`, handler: deleteResource },
    { method: 'DELETE', pattern: `${parent}/resources/{resource}/files/{path+}`, handler: deleteFile },
  ];
}

/** DIRResource's `DIR` (matched by prefix: the rest is a path into the session directory) and `XAR`. */
function sessionDirRoutes(experiment: string): Route[] {
  return [
    get(`${experiment}/DIR`, getSessionDir),
    get(`${experiment}/DIR/{path+}`, getSessionDir),
    get(`${experiment}/XAR`, getSessionDir),
  ];
}

function assessorRoutes(assessor: string): Route[] {
  return [
    get(assessor, getExperiment),
    put(assessor, putAssessor),
    del(assessor, deleteAssessor),
    ...shareRoutes(assessor),
    get(`${assessor}/status`, getStatus),
    get(`${assessor}/projects`, listItemProjects),
    ...resourceRoutes(assessor),
    ...resourceRoutes(`${assessor}/{direction}`),
  ];
}

function experimentRoutes(experiment: string): Route[] {
  return [
    get(experiment, getExperiment),
    put(experiment, putExperiment),
    del(experiment, deleteExperiment),
    ...shareRoutes(experiment),
    get(`${experiment}/status`, getStatus),
    get(`${experiment}/projects`, listItemProjects),
    get(`${experiment}/scans`, listScans),
    get(`${experiment}/scans/{scan}`, getScan),
    put(`${experiment}/scans/{scan}`, putScan),
    del(`${experiment}/scans/{scan}`, deleteScan),
    ...resourceRoutes(`${experiment}/scans/{scan}`),
    get(`${experiment}/assessors`, listAssessors),
    ...assessorRoutes(`${experiment}/assessors/{assessor}`),
    get(`${experiment}/reconstructions`, listReconstructions),
    get(`${experiment}/reconstructions/{reconstruction}`, getReconstruction),
    put(`${experiment}/reconstructions/{reconstruction}`, putReconstruction),
    del(`${experiment}/reconstructions/{reconstruction}`, deleteReconstruction),
    ...resourceRoutes(experiment),
  ];
}

/**
 * Below `/projects/{p}/experiments/{e}` XNAT registers ExperimentResource and the experiment's own
 * resources (CatalogResourceList, CatalogResource, FileList; no `/files` shortcut, no scans).
 * Restlet matches by prefix, so every other path below it reaches ExperimentResource, which reads
 * `status` and `projects` from the remaining path and answers the experiment itself otherwise.
 */
function projectExperimentRoutes(experiment: string): Route[] {
  return [
    get(experiment, getExperiment),
    put(experiment, putExperiment),
    del(experiment, deleteExperiment),
    ...shareRoutes(experiment),
    get(`${experiment}/status`, getStatus),
    get(`${experiment}/projects`, listItemProjects),
    ...resourceRoutes(experiment, false),
    ...sessionDirRoutes(experiment),
    get(`${experiment}/{rest+}`, getExperiment),
  ];
}

function subjectRoutes(subject: string): Route[] {
  return [
    get(subject, getSubject),
    put(subject, putSubject),
    del(subject, deleteSubject),
    ...shareRoutes(subject),
    get(`${subject}/status`, getStatus),
    get(`${subject}/projects`, listItemProjects),
    get(`${subject}/experiments`, listExperiments),
    ...experimentRoutes(`${subject}/experiments/{experiment}`),
    ...resourceRoutes(subject),
  ];
}

export const dataRoutes = new Router([
  { method: 'GET', pattern: 'JSESSION', handler: getJsession },
  { method: 'POST', pattern: 'JSESSION', handler: getJsession },
  { method: 'DELETE', pattern: 'JSESSION', handler: deleteJsession },
  get('auth', getAuth),
  { method: 'POST', pattern: 'services/auth', open: true, handler: formLogin },
  { method: 'PUT', pattern: 'services/auth', open: true, handler: formLogin },
  get('services/tokens/{operation}', aliasTokens),
  get('services/tokens/{operation}/user/{username}', aliasTokens),
  get('services/tokens/{operation}/{token}', aliasTokens),
  get('services/tokens/{operation}/{token}/{secret}', aliasTokens),
  get('services/dicomdump', dicomDump),
  { method: 'POST', pattern: 'services/import', handler: importService },
  { method: 'POST', pattern: 'services/archive', handler: archiveService },
  { method: 'POST', pattern: 'services/prearchive/{operation}', handler: prearchiveBatch },
  get('prearchive/projects', listPrearchive),
  get('prearchive/projects/{projects}', listPrearchive),
  get('prearchive/projects/{project}/{timestamp}/{folder}', getPrearchiveSession),
  get('prearchive/projects/{project}/{timestamp}/{folder}/resources', listPrearchiveResources),
  get('prearchive/projects/{project}/{timestamp}/{folder}/scans', listPrearchiveScans),
  get(
    'prearchive/projects/{project}/{timestamp}/{folder}/scans/{scan}/resources',
    listPrearchiveScanResources,
  ),
  get(
    'prearchive/projects/{project}/{timestamp}/{folder}/scans/{scan}/resources/{resource}/files',
    prearchiveFiles,
  ),
  get(
    'prearchive/projects/{project}/{timestamp}/{folder}/scans/{scan}/resources/{resource}/files/{path+}',
    prearchiveFiles,
  ),
  {
    method: 'POST',
    pattern: 'prearchive/projects/{project}/{timestamp}/{folder}',
    handler: postPrearchiveSession,
  },
  {
    method: 'DELETE',
    pattern: 'prearchive/projects/{project}/{timestamp}/{folder}',
    handler: deletePrearchiveSession,
  },

  { method: 'POST', pattern: 'search', handler: postSearch },
  get('search/elements', listSearchElements),
  get('search/elements/{type}', listSearchFields),
  get('search/saved', listSavedSearches),
  get('search/saved/{searchId}', getSavedSearch),
  get('search/saved/{searchId}/{rest+}', getSavedSearch),
  { method: 'PUT', pattern: 'search/saved/{searchId}', handler: putSavedSearch },
  { method: 'DELETE', pattern: 'search/saved/{searchId}', handler: deleteSavedSearch },
  get('search/{searchId}', getCachedSearch),

  get('projects', listProjects),
  post('projects', postProject),
  get('projects/{project}', getProject),
  put('projects/{project}', putProject),
  del('projects/{project}', deleteProject),
  put('projects/{project}/quarantine_code/{value}', putProjectSetting),
  put('projects/{project}/prearchive_code/{value}', putProjectSetting),
  put('projects/{project}/accessibility/{value}', putProjectSetting),
  get('projects/{project}/subjects', listSubjects),
  get('projects/{project}/users', listProjectUsers),
  put('projects/{project}/users/{group}/{login}', changeProjectUsers),
  del('projects/{project}/users/{group}/{login}', changeProjectUsers),
  post('projects/{project}/subjects', postSubject),
  post('projects/{project}/subjects/{subject}/experiments', postExperiment),
  ...subjectRoutes('projects/{project}/subjects/{subject}'),
  get('projects/{project}/experiments', listExperiments),
  ...projectExperimentRoutes('projects/{project}/experiments/{experiment}'),
  ...resourceRoutes('projects/{project}'),
  ...configRoutes('projects/{project}/config'),
  get('projects/{project}/{setting}', getProjectSetting),

  get('users', listUsers),
  ...configRoutes('config'),
  ...workflowRoutes,
  get('subjects', listSubjects),
  ...subjectRoutes('subjects/{subject}'),
  get('experiments', listExperiments),
  ...sessionDirRoutes('experiments/{experiment}'),
  ...experimentRoutes('experiments/{experiment}'),
]);

/** SnapshotGenerationApi: each path with and without `/{view}`, under a session, a project or a subject. */
function snapshotRoutes(): Route[] {
  const sessions = [
    'experiments/{experiment}',
    'projects/{project}/experiments/{experiment}',
    'projects/{project}/subjects/{subject}/experiments/{experiment}',
  ];
  return sessions.flatMap((session) => [
    get(`${session}/scan/{scan}/snapshot`, getSnapshot),
    get(`${session}/scan/{scan}/snapshot/{view}`, getSnapshot),
    get(`${session}/scan/{scan}/thumbnail`, getThumbnail),
    get(`${session}/scan/{scan}/thumbnail/{view}`, getThumbnail),
  ]);
}

export const xapiRoutes = new Router([
  { method: 'GET', pattern: 'siteConfig/buildInfo', open: true, handler: getBuildInfo },
  { method: 'GET', pattern: 'siteConfig/buildInfo/{property}', open: true, handler: getBuildInfoProperty },
  { method: 'GET', pattern: 'siteConfig/siteId', open: true, handler: getSiteId },
  get('siteConfig/uptime', getUptime),
  get('users', listUserLogins),
  get('users/username', getUsername),
  get('users/profile', getProfile),
  get('users/profiles', listUserProfiles),
  get('users/active', listActiveUsers),
  get('users/{username}/roles', getUserRoles),
  get('plugins', listPlugins),
  get('plugins/{plugin}', getPlugin),
  get('schemas', listSchemas),
  get('schemas/{schema}', getSchema),
  get('schemas/{namespace}/{schema}', getSchema),
  ...snapshotRoutes(),
  ...containerRoutes(),
]);

export const webRoutes = new Router([
  get('', homePage),
  { method: 'GET', pattern: 'app/template/Login.vm', open: true, handler: loginPage },
]);
