/**
 * @doublelock/log: the prover side of the transparency log (tree, storage, checkpoints, witness).
 * The client-side verifier is `@doublelock/log/verifier` and imports nothing from here.
 */
export { leafHash, nodeHash, EMPTY_ROOT, HASH_SIZE } from './hash.ts';
export { inclusionPath, consistencyPath, subtreeHash, frontierNodes, withNodes, type NodeId, type NodeReader } from './merkle.ts';
export { Frontier, type StoredNode } from './frontier.ts';
export { AppendConflict, type AppendBatch, type AppendChunk, type LogStorage, type StoredCheckpoint, type StoredCosignature } from './storage.ts';
export { SqlLogStorage, nodePosition } from './sqlStorage.ts';
export { NoteSigner, CosignatureSigner, generateSignerKey, parseSignerKey, formatSignerKey, assembleNote, checkpointText, type SignerKey } from './signer.ts';
export { BatchHasher, type BatchHasherOptions } from './batchHasher.ts';
export { TransparencyLog, type TransparencyLogOptions, type SignedCheckpoint } from './log.ts';
export { LogError, type LogErrorCode } from './errors.ts';
export * from './witness.ts';
export { LogHttpClient, LogHttpError } from './http.ts';
export { auditLog, verifyEntry, fetchCheckpoint, checkConsistency, seenCheckpoint, AuditError, type AuditOptions, type AuditResult, type TrustPolicy } from './audit.ts';
export { encodeTileIndex, parseTileIndex, tilePath, encodeEntryBundle, decodeEntryBundle, TILE_WIDTH, TILE_HEIGHT, MAX_BUNDLED_ENTRY_BYTES, type TileCoordinates } from './tiles.ts';
