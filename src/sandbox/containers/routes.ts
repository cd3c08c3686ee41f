/** The container service's XAPI routes (mounted under `/xapi`) and the workflow route under `/data`. */
import type { Route } from '../router.js';
import {
  availableCommands,
  bulkLaunch,
  getCommand,
  getContainer,
  getLog,
  getWorkflow,
  killContainer,
  launch,
  launchUi,
  listCommands,
  listContainers,
  listProjectContainers,
  pollLog,
  projectAvailableCommands,
  projectEnabled,
  setProjectEnabled,
  setSiteEnabled,
  siteEnabled,
} from './handlers.js';

type Handler = Extract<Route, { open?: false }>['handler'];
const get = (pattern: string, handler: Handler): Route => ({ method: 'GET', pattern, handler });
const put = (pattern: string, handler: Handler): Route => ({ method: 'PUT', pattern, handler });
const post = (pattern: string, handler: Handler): Route => ({ method: 'POST', pattern, handler });

export function containerRoutes(): Route[] {
  const wrapperPaths = ['wrappers/{wrapperId}', 'commands/{commandId}/wrappers/{wrapperName}'];
  return [
    get('commands', listCommands),
    get('commands/available', availableCommands),
    get('commands/{commandId}', getCommand),
    get('projects/{project}/commands/available', projectAvailableCommands),
    ...wrapperPaths.flatMap((w) => [
      get(`${w}/enabled`, siteEnabled),
      put(`${w}/enabled`, setSiteEnabled),
      put(`${w}/disabled`, setSiteEnabled),
      get(`projects/{project}/${w}/enabled`, projectEnabled),
      put(`projects/{project}/${w}/enabled`, setProjectEnabled),
      put(`projects/{project}/${w}/disabled`, setProjectEnabled),
    ]),
    get('projects/{project}/wrappers/{wrapperId}/launch', launchUi),
    post('projects/{project}/wrappers/{wrapperId}/root/{rootElement}/launch', launch),
    post('projects/{project}/wrappers/{wrapperId}/root/{rootElement}/bulklaunch', bulkLaunch),
    get('containers', listContainers),
    get('containers/{id}', getContainer),
    get('containers/{id}/logs/{file}', getLog),
    get('containers/{id}/logSince/{file}', pollLog),
    post('containers/{id}/kill', killContainer),
    get('projects/{project}/containers', listProjectContainers),
    post('projects/{project}/containers/{id}/kill', killContainer),
  ];
}

export const workflowRoutes: Route[] = [get('workflows/{workflowId}', getWorkflow)];
