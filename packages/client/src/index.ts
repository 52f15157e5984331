/** Doublelock messenger SDK (browser-safe core; Node-only storage lives in ./node/). */
export { Messenger, MessageRejected, type MessengerEvent, type MessengerOptions, type ReceivedMessage, type GroupSummary, type RejectReason } from './messenger.ts';
export { ApiError, ServerApi } from './api/serverApi.ts';
export { TransientFailure, isTransient } from './core/transient.ts';
export { MailboxSocket, type WebSocketConstructor } from './api/mailboxSocket.ts';
export type { DeviceProvisioning, DeviceRecord } from './device.ts';
export { MemoryStorage, type Storage, type StorageWrite } from './storage/storage.ts';
export { IndexedDbStorage } from './storage/indexedDb.ts';
export { safetyNumber } from './safetyNumber.ts';
export { messageContent, type MessageContent } from './envelope/content.ts';
export { CIPHERSUITE, KEY_RETENTION, suiteImpl } from './mls/suite.ts';
export { fastCryptoProvider } from './mls/cryptoProvider.ts';
export { DirectoryAuthenticationService, CredentialRejected } from './mls/authenticationService.ts';
export { encodeLinkCode, decodeLinkCode, linkDevice, LinkCodeError } from './linkCode.ts';
export { KeyTransparency, KeyTransparencyError, type SeenCheckpoint } from './transparency/keyTransparency.ts';
