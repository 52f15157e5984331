/** This person's privacy choices on this device: read receipts (reciprocal, as in Signal). */
import { useState } from 'react';
import { ErrorNotice, Card, Loading, Page, useAction, useLoad } from '../ui/components.tsx';
import { useDevice } from './useMessenger.ts';

export function Settings() {
  const m = useDevice();
  const prefs = useLoad(() => m.preferences(), [m]);
  // shown at once (a checkbox must not lag the click), saved on this device right after
  const [chosen, setChosen] = useState<boolean>();
  const change = useAction(async (readReceipts: boolean) => {
    setChosen(readReceipts);
    try {
      await m.setPreferences({ readReceipts });
    } catch (error) {
      setChosen(undefined); // not saved: show what is stored
      throw error;
    }
  });
  return (
    <Page title="Settings">
      <Card title="Privacy">
        {prefs.loading && !prefs.data ? (
          <Loading what="your settings" />
        ) : (
          <label style={{ fontWeight: 400 }}>
            <input type="checkbox" style={{ width: 'auto' }} checked={chosen ?? prefs.data?.readReceipts ?? true} onChange={(e) => void change.run(e.target.checked)} /> Read receipts
            <span className="hint"> — let people know when you have read their messages. Turned off, you will not see when they read yours either.</span>
          </label>
        )}
        <ErrorNotice error={change.error ?? prefs.error} />
      </Card>
    </Page>
  );
}
