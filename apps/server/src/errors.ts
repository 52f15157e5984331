/**
 * The server's error handling is the shared one (packages/http/src/errors.ts, used by the hub too): every
 * failure leaves as `{ code, message }`. A new error code's HTTP status goes in that file's STATUS table.
 */
export * from '@doublelock/http/errors';
