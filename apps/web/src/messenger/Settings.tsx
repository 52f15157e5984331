/** This person's privacy choices on this device: read receipts (reciprocal, as in Signal). */
import { ErrorNotice, Card, Loading, Page, useAction, useLoad } from '../ui/components.tsx';
import { useDevice } from './useMessenger.ts';

export function Settings() {
  const m = useDevice();
  const prefs = useLoad(() => m.preferences(), [m]);
  const change = useAction(async (readReceipts: boolean) => {
    await m.setPreferences({ readReceipts });
    prefs.reload();
  });
  return (
    <Page title="Settings">
      <Card title="Privacy">
        {prefs.loading && !prefs.data ? (
          <Loading what="your settings" />
        ) : (
          <label style={{ fontWeight: 400 }}>
            <input type="checkbox" style={{ width: 'auto' }} checked={prefs.data?.readReceipts ?? true} disabled={change.busy} onChange={(e) => void change.run(e.target.checked)} /> Read receipts
            <span className="hint"> — let people know when you have read their messages. Turned off, you will not see when they read yours either.</span>
          </label>
        )}
        <ErrorNotice error={change.error ?? prefs.error} />
      </Card>
    </Page>
  );
}
