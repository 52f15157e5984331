/** Doublelock messenger SDK (browser-safe core; Node-only storage lives in ./node/). */
export { Messenger, MessageRejected, type MessengerEvent, type MessengerOptions, type ReceivedMessage, type GroupSummary, type RejectReason } from './messenger.ts';
export type { TransparencyConfig } from './core/types.ts';
export { OwnAccountMonitor, type MonitorAlarm } from './transparency/monitor.ts';
export { ApiError, ServerApi } from './api/serverApi.ts';
export { TransientFailure, isTransient } from './core/transient.ts';
export { MailboxSocket, type WebSocketConstructor } from './api/mailboxSocket.ts';
export type { DeviceRecord } from './device.ts';
export { MemoryStorage, type Storage, type StorageWrite } from './storage/storage.ts';
export { IndexedDbStorage } from './storage/indexedDb.ts';
export { safetyNumber } from './safetyNumber.ts';
export { messageContent, type MessageContent } from './envelope/content.ts';
export type { ChatMessage, Preferences } from './content/conversation.ts';
export { CIPHERSUITE, KEY_RETENTION, suiteImpl } from './mls/suite.ts';
export { fastCryptoProvider } from './mls/cryptoProvider.ts';
export { DirectoryAuthenticationService, CredentialRejected } from './mls/authenticationService.ts';
export { encodeLinkCode, decodeLinkCode, PendingLink, LinkCodeError } from './linkCode.ts';
export { KeyTransparency, KeyTransparencyError, type SeenCheckpoint } from './transparency/keyTransparency.ts';
export type { ContactTrust, TrustState } from './devices/trust.ts';
