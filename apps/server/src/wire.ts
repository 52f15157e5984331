/** Store records → wire objects (bytes as base64url). */
import { toBase64Url, type MailboxItem } from '@doublelock/protocol';
import type { StoredMessage } from '@doublelock/store';

export function toMailboxItem(m: StoredMessage): MailboxItem {
  return {
    id: m.id,
    kind: m.kind,
    groupId: m.groupId,
    seq: m.seq,
    epoch: m.epoch,
    sender: m.sender,
    clientMessageId: m.clientMessageId,
    payload: toBase64Url(m.payload),
    serverTime: m.serverTime,
    ...(m.ratchetTree && { ratchetTree: toBase64Url(m.ratchetTree) }),
    ...(m.franking && { franking: { commitment: toBase64Url(m.franking.commitment), tag: toBase64Url(m.franking.tag) } }),
  };
}
