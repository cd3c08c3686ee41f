/**
 * The sandbox's route tables: `/data` (also reachable as `/REST` and `/data/archive`), `/xapi` and
 * the few web-app pages. The next milestone's writes slot in as further `{ method, pattern, handler }`
 * entries next to the reads they mirror.
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
import { getExperiment, getProject, getProjectSetting, getScan, getStatus, getSubject } from './items.js';
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
import { Router, type Route } from './router.js';
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
  getProfile,
  getSiteId,
  getUptime,
  getUsername,
  homePage,
  loginPage,
} from './services.js';
import {
  experimentWriteRoutes,
  projectExperimentWriteRoutes,
  projectWriteRoutes,
  subjectWriteRoutes,
} from './writes.js';

const get = (pattern: string, handler: Extract<Route, { open?: false }>['handler']): Route => ({
  method: 'GET',
  pattern,
  handler,
});

/** Resource folders and files under any parent (project, subject, experiment, scan, assessor). */
function resourceRoutes(parent: string): Route[] {
  return [
    get(`${parent}/resources`, listResources),
    get(`${parent}/resources/{resource}`, getCatalog),
    get(`${parent}/resources/{resource}/files`, listFiles),
    get(`${parent}/resources/{resource}/files/{path+}`, getFile),
    get(`${parent}/files`, listFiles),
    ...(['PUT', 'POST'] as const).flatMap((method): Route[] => [
      { method, pattern: `${parent}/resources/{resource}`, handler: createResource },
      { method, pattern: `${parent}/resources/{resource}/files`, handler: uploadFiles },
      { method, pattern: `${parent}/resources/{resource}/files/{path+}`, handler: uploadFiles },
    ]),
    { method: 'DELETE', pattern: `${parent}/resources/{resource}`, handler: deleteResource },
    { method: 'DELETE', pattern: `${parent}/resources/{resource}/files/{path+}`, handler: deleteFile },
  ];
}

function assessorRoutes(assessor: string): Route[] {
  return [
    get(assessor, getExperiment),
    get(`${assessor}/status`, getStatus),
    get(`${assessor}/projects`, listItemProjects),
    ...resourceRoutes(assessor),
    ...resourceRoutes(`${assessor}/{direction}`),
  ];
}

function experimentRoutes(experiment: string): Route[] {
  return [
    get(experiment, getExperiment),
    get(`${experiment}/status`, getStatus),
    get(`${experiment}/projects`, listItemProjects),
    get(`${experiment}/scans`, listScans),
    get(`${experiment}/scans/{scan}`, getScan),
    ...resourceRoutes(`${experiment}/scans/{scan}`),
    get(`${experiment}/assessors`, listAssessors),
    ...assessorRoutes(`${experiment}/assessors/{assessor}`),
    get(`${experiment}/reconstructions`, listReconstructions),
    ...resourceRoutes(experiment),
    ...experimentWriteRoutes(experiment),
  ];
}

/**
 * XNAT registers only ExperimentResource at `/projects/{p}/experiments/{e}` (no scans, resources or
 * files below it), and Restlet matches by prefix: `status` and `projects` are read from the remaining
 * path, anything else answers the experiment itself.
 */
function projectExperimentRoutes(experiment: string): Route[] {
  return [
    get(experiment, getExperiment),
    get(`${experiment}/status`, getStatus),
    get(`${experiment}/projects`, listItemProjects),
    get(`${experiment}/{rest+}`, getExperiment),
    ...projectExperimentWriteRoutes(experiment),
  ];
}

function subjectRoutes(subject: string): Route[] {
  return [
    get(subject, getSubject),
    get(`${subject}/status`, getStatus),
    get(`${subject}/projects`, listItemProjects),
    get(`${subject}/experiments`, listExperiments),
    ...experimentRoutes(`${subject}/experiments/{experiment}`),
    ...resourceRoutes(subject),
    ...subjectWriteRoutes(subject),
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
  { method: 'POST', pattern: 'services/import', handler: importService },
  { method: 'POST', pattern: 'services/archive', handler: archiveService },
  { method: 'POST', pattern: 'services/prearchive/{operation}', handler: prearchiveBatch },
  get('prearchive/projects', listPrearchive),
  get('prearchive/projects/{projects}', listPrearchive),
  get('prearchive/projects/{project}/{timestamp}/{folder}', getPrearchiveSession),
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
  ...projectWriteRoutes,
  get('projects/{project}', getProject),
  get('projects/{project}/subjects', listSubjects),
  ...subjectRoutes('projects/{project}/subjects/{subject}'),
  get('projects/{project}/experiments', listExperiments),
  ...projectExperimentRoutes('projects/{project}/experiments/{experiment}'),
  ...resourceRoutes('projects/{project}'),
  get('projects/{project}/{setting}', getProjectSetting),

  get('subjects', listSubjects),
  ...subjectRoutes('subjects/{subject}'),
  get('experiments', listExperiments),
  ...experimentRoutes('experiments/{experiment}'),
]);

export const xapiRoutes = new Router([
  { method: 'GET', pattern: 'siteConfig/buildInfo', open: true, handler: getBuildInfo },
  { method: 'GET', pattern: 'siteConfig/buildInfo/{property}', open: true, handler: getBuildInfoProperty },
  { method: 'GET', pattern: 'siteConfig/siteId', open: true, handler: getSiteId },
  get('siteConfig/uptime', getUptime),
  get('users/username', getUsername),
  get('users/profile', getProfile),
]);

export const webRoutes = new Router([
  get('', homePage),
  { method: 'GET', pattern: 'app/template/Login.vm', open: true, handler: loginPage },
]);
