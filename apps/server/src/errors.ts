/** The server's error handling is the shared one (packages/http): every failure leaves as `{ code, message }`. */
export * from '@doublelock/http/errors';
