/**
 * The transport frame (the bytes of `sendMessageRequest.ciphertext`) is part of the wire format, so its
 * codec lives in @doublelock/protocol (frame.ts) where the server's retention reads it too.
 */
export { decodeFrame, encodeFrame, FRAME_LABEL, type Frame } from '@doublelock/protocol';
