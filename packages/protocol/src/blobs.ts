/** Attachments: encrypted blobs addressed by the SHA-256 of their (encrypted) bytes, scoped to a group. */
export const BLOB_CONTENT_TYPE = 'application/octet-stream';
export const DEFAULT_MAX_BLOB_BYTES = 100 * 1024 * 1024;
