/** Safety numbers: the 60 digits to read aloud, and a QR code the other person scans to compare. */
import { useCallback, useState } from 'react';
import { Link } from 'wouter';
import { Card, ErrorNotice, Loading, Notice, Page, useLoad } from '../ui/components.tsx';
import { QrCode } from '../ui/QrCode.tsx';
import { QrScanner } from '../ui/QrScanner.tsx';
import { TrustCard, useContactTrust } from './trust.tsx';
import { useDevice } from './useMessenger.ts';

const QR_PREFIX = 'doublelock-safety-number:';

export function SafetyNumberPage({ username, raise }: { username: string; raise: (e: unknown) => boolean }) {
  const m = useDevice();
  const number = useLoad(async () => {
    try {
      return await m.safetyNumber(username);
    } catch (error) {
      raise(error);
      throw error;
    }
  }, [m, username]);
  const contact = useContactTrust(m, [username]);
  const trust = contact.trust.get(username);
  const [scanned, setScanned] = useState<string>();
  const onScan = useCallback((text: string) => setScanned(text.startsWith(QR_PREFIX) ? text.slice(QR_PREFIX.length) : text), []);
  const digits = number.data?.replace(/\s+/g, '');
  return (
    <Page title={`Safety number with ${username}`}>
      <p><Link href="/">← All chats</Link></p>
      <p>If these digits are the same on {username}’s screen, nobody is in the middle: your messages reach only {username}’s devices. Compare them in person or on a call you trust.</p>
      {number.loading && <Loading what="the safety number" />}
      <ErrorNotice error={number.error} />
      {trust && <TrustCard m={m} trust={trust} onChange={() => { contact.reload(); number.reload(); }} />}
      {digits && (
        <>
          <Card title="The digits">
            <p className="digits" aria-label={`Safety number: ${digits.match(/.{5}/g)!.join(' ')}`} data-safety-number={digits}>
              {digits.match(/.{5}/g)!.map((g, i) => <span key={i}>{g}</span>)}
            </p>
          </Card>
          <Card title="Scan instead">
            <QrCode value={QR_PREFIX + digits} label={`QR code of the safety number with ${username}`} />
            <QrScanner label={`${username}’s code`} onScan={onScan} />
            {scanned !== undefined &&
              (scanned === digits ? (
                <Notice title="The safety numbers match">{username}’s screen shows the same number as yours.</Notice>
              ) : (
                <Notice kind="warning" title="The safety numbers do not match">The code you scanned is not the same number. You may not be talking to {username}’s devices only. Do not send anything sensitive until you have found out why.</Notice>
              ))}
          </Card>
        </>
      )}
    </Page>
  );
}
