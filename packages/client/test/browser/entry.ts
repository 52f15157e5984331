/** What the browser test page gets: the SDK core and its IndexedDB storage, nothing Node-only. */
export { Messenger } from '../../src/messenger.ts';
export { IndexedDbStorage } from '../../src/storage/indexedDb.ts';
export { exerciseStorage } from '../storageContract.ts';
