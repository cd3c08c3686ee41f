/**
 * File transfers between local disk and XNAT resources, streamed in both directions (memory stays
 * flat whatever the file size), several files at a time over the client's one keep-alive pool.
 */
export { DEFAULT_CONCURRENCY, checkRemotePath, listResourceFiles, resourceParentPath } from './common.js';
export type { ResourceParent, TransferContext, TransferProgress } from './common.js';
export { upload } from './upload.js';
export type { UploadRequest, UploadResult } from './upload.js';
export { download, writeLocalFile } from './download.js';
export type { DownloadLayout, DownloadRequest, DownloadResult } from './download.js';
export { listLocalFiles } from './local.js';
export type { LocalFile } from './local.js';
