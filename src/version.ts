// The client core owns the version (it sends it as User-Agent); the server and CLI read it here.
export { SERVER_NAME, VERSION } from './client/version.js';
