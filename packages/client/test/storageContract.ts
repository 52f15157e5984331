/**
 * The storage contract as a plain function (no test framework), so the same steps run on every backend:
 * in Node (memory, SQLite) and inside Chromium (IndexedDB). It returns what it observed; the caller
 * compares that with EXPECTED_OBSERVATIONS.
 */
import type { Storage } from '../src/storage/storage.ts';

const list = (value: Uint8Array | undefined) => (value === undefined ? null : [...value]);

export async function exerciseStorage(s: Storage) {
  const missing = list(await s.get('missing'));
  await s.write([
    { key: 'group/b/state', value: new Uint8Array([2]) },
    { key: 'group/a/state', value: new Uint8Array([1]) },
    { key: 'kp/x', value: new Uint8Array([9]) },
  ]);
  const keys = await s.keys('group/');
  await s.write([
    { key: 'group/a/state', value: new Uint8Array([3, 4]) },
    { key: 'kp/x', value: undefined },
  ]);
  const updated = list(await s.get('group/a/state'));
  const deleted = list(await s.get('kp/x'));
  const copy = (await s.get('group/a/state'))!;
  copy[0] = 99;
  const afterMutatingACopy = list(await s.get('group/a/state'));
  await s.close();
  return { missing, keys, updated, deleted, afterMutatingACopy };
}

export const EXPECTED_OBSERVATIONS = {
  missing: null,
  keys: ['group/a/state', 'group/b/state'],
  updated: [3, 4],
  deleted: null,
  afterMutatingACopy: [3, 4],
};
