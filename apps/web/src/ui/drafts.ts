/** Unsent text survives reloads: kept in localStorage per form, cleared once sent. */
import { useEffect, useState } from 'react';

const PREFIX = 'doublelock.draft.';

export function useDraft(key: string): [string, (value: string) => void, () => void] {
  const storageKey = PREFIX + key;
  const [value, setValue] = useState(() => localStorage.getItem(storageKey) ?? '');
  useEffect(() => setValue(localStorage.getItem(storageKey) ?? ''), [storageKey]);
  const update = (next: string) => {
    setValue(next);
    if (next === '') localStorage.removeItem(storageKey);
    else localStorage.setItem(storageKey, next);
  };
  return [value, update, () => update('')];
}
