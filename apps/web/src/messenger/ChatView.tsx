/** One chat: its messages (text, images with previews, files), a composer whose draft survives reloads, members. */
import type { Messenger, ReceivedMessage } from '@doublelock/client';
import { useEffect, useRef, useState } from 'react';
import { Link } from 'wouter';
import { Card, ErrorNotice, Field, Notice, Page, Progress, useAction } from '../ui/components.tsx';
import { downloadChecked, outgoingFile, readableSize, saveBlob, type FileContent } from './files.ts';
import { attachmentLimit } from './session.ts';
import { useDraft } from '../ui/drafts.ts';
import { humanMessage } from '../ui/errors.ts';
import { deliveryMark, useDelivered, useReadReceipts } from './receipts.ts';
import { ChangedWarning, useContactTrust } from './trust.tsx';
import { useDevice, useHistory, type MessengerView } from './useMessenger.ts';
import { useChatManagers } from './admins.ts';

interface Pending {
  id: number;
  label: string;
  /** a file's sealing and upload, 0…1 */
  progress?: number;
  error?: unknown;
  retry: () => Promise<unknown>;
}

export function ChatView({ groupId, view }: { groupId: string; view: MessengerView & { refresh: () => Promise<void>; raise: (e: unknown) => boolean } }) {
  const m = useDevice();
  const group = view.groups.find((g) => g.groupId === groupId);
  const [version, setVersion] = useState(0);
  const messages = useHistory(m, groupId, view.version + version);
  const [draft, setDraft, clearDraft] = useDraft(`chat:${groupId}`);
  const [pending, setPending] = useState<Pending[]>([]);
  const [file, setFile] = useState<File | null>(null);
  const [tooLarge, setTooLarge] = useState<string>();
  const [preview, setPreview] = useState<string>();
  const list = useRef<HTMLOListElement>(null);
  const delivered = useDelivered(m, groupId, messages);
  const readBy = useReadReceipts(m, groupId, messages);
  const memberNames = group ? [...new Set(group.members.map((x) => x.username))].filter((u) => u !== m.username).sort() : [];
  const contacts = useContactTrust(m, memberNames);

  useEffect(() => {
    list.current?.lastElementChild?.scrollIntoView({ block: 'end' });
  }, [messages.length, pending.length]);
  useEffect(() => {
    if (!file || !file.type.startsWith('image/')) return setPreview(undefined);
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);

  /** Sends; a failure stays on screen with the server's message and a retry button. */
  const send = (label: string, fn: (progress: (done: number) => void) => Promise<unknown>) => {
    const id = Date.now() + Math.random();
    const progress = (done: number) => setPending((p) => p.map((x) => (x.id === id ? { ...x, progress: done } : x)));
    const attempt = async () => {
      setPending((p) => p.map((x) => (x.id === id ? { ...x, error: undefined } : x)));
      try {
        await fn(progress);
        setPending((p) => p.filter((x) => x.id !== id));
        setVersion((v) => v + 1);
      } catch (error) {
        view.raise(error);
        contacts.reload(); // a refusal may be a contact's changed key: show it
        setPending((p) => p.map((x) => (x.id === id ? { ...x, error } : x)));
      }
    };
    setPending((p) => [...p, { id, label, retry: attempt }]);
    return attempt();
  };

  const submit = async () => {
    const text = draft.trim();
    if (file) {
      const f = file;
      setFile(null);
      clearDraft();
      // Streamed from the File (files.ts): sealed in chunks, with a preview made here for images.
      await send(f.name, (progress) => m.sendFileStream(groupId, outgoingFile(f, progress), text || undefined));
    } else if (text) {
      clearDraft();
      await send(text, () => m.sendText(groupId, text));
    }
  };

  if (!group) {
    return (
      <Page title="Chat">
        <p><Link href="/">← All chats</Link></p>
        <p>This chat is not on this device: you may have left it, or it is still arriving.</p>
      </Page>
    );
  }
  const others = [...new Set(group.members.map((x) => x.username))].filter((u) => u !== m.username);
  return (
    <Page title={group.name || others.join(', ') || 'Chat'}>
      <p className="muted">
        <Link href="/">← All chats</Link> · End-to-end encrypted with {others.length > 0 ? others.map((u) => (contacts.trust.get(u)?.state === 'verified' ? `${u} (verified ✓)` : u)).join(', ') : 'nobody else yet'}
      </p>
      {[...contacts.trust.values()].filter((t) => t.state === 'changed').map((t) => <ChangedWarning key={t.username} trust={t} />)}
      <ol className="messages" ref={list} aria-label="Messages" aria-live="polite">
        {messages.map((msg) => (
          <MessageItem
            key={msg.seq}
            m={m}
            msg={msg}
            mine={msg.sender.username === m.username}
            mark={msg.sender.username === m.username ? deliveryMark(delivered.has(msg.seq), readBy.get(msg.clientMessageId) ?? [], new Set(group.members.map((x) => x.username)).size) : undefined}
          />
        ))}
        {view.notices
          .filter((n) => n.groupId === groupId)
          .map((n) => (
            <li key={`notice-${n.id}`} className="notice">
              {n.text}
            </li>
          ))}
        {pending.map((p) => (
          <li key={p.id} className="mine">
            {p.label}
            <div className="meta">{p.error ? 'Not sent' : 'Sending…'}</div>
            {p.progress !== undefined && !p.error && <Progress label={`Encrypting and uploading ${p.label}, per cent`} value={Math.round(p.progress * 100)} max={100} />}
            {p.error !== undefined && (
              <>
                <ErrorNotice error={p.error} />
                <button type="button" className="secondary" onClick={() => void p.retry()}>Retry</button>
              </>
            )}
          </li>
        ))}
      </ol>
      <form className="stack" onSubmit={(e) => { e.preventDefault(); void submit(); }} aria-label="Write a message">
        <Field label="Message" value={draft} onChange={setDraft} multiline hint={file ? '(caption)' : 'Enter sends, Shift+Enter starts a new line'} onEnter={() => void submit()} />
        <div className="row">
          <div className="field">
            <label htmlFor="attach">Attach an image or file</label>
            <input
              id="attach"
              type="file"
              onChange={(e) => {
                const input = e.target;
                const chosen = input.files?.[0] ?? null;
                setTooLarge(undefined);
                setFile(chosen);
                // Checked here, before anything is sealed or uploaded (the SDK checks again when sending).
                if (chosen) void attachmentLimit().then((limit) => {
                  if (chosen.size <= limit) return;
                  setFile((f) => (f === chosen ? null : f));
                  input.value = '';
                  setTooLarge(`${chosen.name} is ${readableSize(chosen.size)}; this server takes files up to ${readableSize(limit)}. Nothing was sent.`);
                });
              }}
            />
          </div>
          <button type="submit">Send</button>
        </div>
        {tooLarge && <div className="alert error" role="alert">{tooLarge}</div>}
        {file && (
          <div className="card">
            <p>To send: {file.name} ({Math.ceil(file.size / 1024)} KB) <button type="button" className="secondary" onClick={() => setFile(null)}>Remove</button></p>
            {preview && <img src={preview} alt={`Preview of ${file.name}`} style={{ maxWidth: '12rem' }} />}
          </div>
        )}
      </form>
      <Members groupId={groupId} members={others} version={view.version + version} onChange={view.refresh} raise={view.raise} />
    </Page>
  );
}

function MessageItem({ m, msg, mine, mark }: { m: Messenger; msg: ReceivedMessage; mine: boolean; mark?: { state: string; text: string } }) {
  const [reporting, setReporting] = useState(false);
  const [reason, setReason] = useState('');
  const report = useAction(async () => {
    await m.report(msg, reason);
    setReporting(false);
    return true;
  });
  const c = msg.content;
  if (c.type === 'rename') return <li className="muted">{msg.sender.username} named the chat “{c.name}”</li>;
  if (c.type === 'leave') return <li className="muted">{msg.sender.username} left</li>;
  if (c.type === 'trust') return <li className="muted">{c.verified ? `You marked ${c.username} as verified` : `You reviewed ${c.username}’s safety number`} (on another of your devices)</li>;
  // Reactions, edits, deletes, receipts, typing, timers and admin lists fold into other messages
  // (the SDK's conversation() view); they are not list items of their own.
  if (c.type !== 'text' && c.type !== 'file') return null;
  return (
    <li className={mine ? 'mine' : undefined} data-seq={msg.seq}>
      <div className="meta">{mine ? 'You' : msg.sender.username} · <time dateTime={new Date(msg.serverTime).toISOString()}>{new Date(msg.serverTime).toLocaleString()}</time>{mark && <span data-delivery={mark.state}> · {mark.text}</span>}</div>
      {c.type === 'text' ? <p style={{ margin: 0, whiteSpace: 'pre-wrap' }}>{c.text}</p> : <Attachment m={m} groupId={msg.groupId} file={c} />}
      {!mine && (
        <>
          {!reporting && !report.data && <button type="button" className="secondary" onClick={() => setReporting(true)}>Report</button>}
          {reporting && (
            <form className="row" onSubmit={(e) => { e.preventDefault(); void report.run(); }}>
              <Field label="Why are you reporting this message?" value={reason} onChange={setReason} />
              <button type="submit" disabled={report.busy}>Send report</button>
              <button type="button" className="secondary" onClick={() => setReporting(false)}>Cancel</button>
            </form>
          )}
          {report.data && <Notice>Reported. The server checked that {msg.sender.username} really sent this exact message.</Notice>}
          <ErrorNotice error={report.error} />
        </>
      )}
    </li>
  );
}

/**
 * A received file: the sender's preview (for images) at once, the file itself only when asked for, streamed
 * through the SDK's checks with progress; kept only if every chunk verified (files.ts).
 */
function Attachment({ m, groupId, file }: { m: Messenger; groupId: string; file: FileContent }) {
  const [preview, setPreview] = useState<{ url: string; width: number; height: number }>();
  const [full, setFull] = useState<string>();
  const [progress, setProgress] = useState<number>();
  const [error, setError] = useState<unknown>();
  const image = file.mime.startsWith('image/');
  const label = file.caption || file.name;
  useEffect(() => {
    if (!file.preview) return;
    let made: string | undefined;
    let live = true;
    m.downloadPreview(groupId, file).then(
      (p) => {
        if (!p || !live) return;
        made = URL.createObjectURL(new Blob([p.bytes as BlobPart], { type: p.mime }));
        setPreview({ url: made, width: p.width, height: p.height });
      },
      (e: unknown) => live && setError(e),
    );
    return () => {
      live = false;
      if (made) URL.revokeObjectURL(made);
    };
    // Keyed by the preview's blob: a history reload hands over a new but identical `file`.
  }, [m, groupId, file.preview?.blob]);
  useEffect(() => () => void (full && URL.revokeObjectURL(full)), [full]);
  const download = async () => {
    setError(undefined);
    setProgress(0);
    try {
      const blob = await downloadChecked(m, groupId, file, setProgress);
      if (image) setFull(URL.createObjectURL(blob));
      saveBlob(blob, file.name);
    } catch (e) {
      setError(e);
    } finally {
      setProgress(undefined);
    }
  };
  return (
    <div>
      {full ? (
        <img src={full} alt={label} data-full="" />
      ) : (
        preview && <img src={preview.url} alt={`${label} (preview)`} width={preview.width} height={preview.height} data-preview="" />
      )}
      {file.caption && <p style={{ margin: 0 }}>{file.caption}</p>}
      <button type="button" className="secondary" disabled={progress !== undefined} onClick={() => void download()}>
        Download {file.name} ({Math.ceil(file.size / 1024)} KB)
      </button>
      {progress !== undefined && <Progress label={`Downloading and checking ${file.name}, KB`} value={Math.floor(progress / 1024)} max={Math.ceil(file.size / 1024)} />}
      {error !== undefined && (
        <div className="alert error" role="alert">
          <strong>{file.name} was refused and not saved.</strong> {humanMessage(error)}
        </div>
      )}
    </div>
  );
}

function Members({ groupId, members, version, onChange, raise }: { groupId: string; members: string[]; version: number; onChange: () => Promise<void>; raise: (e: unknown) => boolean }) {
  const m = useDevice();
  const managers = useChatManagers(m, groupId, version);
  // Shown only once known to be allowed; if the admins change meanwhile, the SDK's refusal shows below.
  const mayManage = managers?.mayManage === true;
  const [add, setAdd] = useState('');
  const [name, setName] = useState('');
  const act = useAction(async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (error) {
      raise(error);
      throw error;
    }
    await onChange();
  });
  return (
    <Card title="People and settings">
      {managers?.admins && (
        <p className="muted" data-admins="">
          {mayManage ? 'You are an admin of this chat' : 'Only this chat’s admins add, remove and rename'} (admins: {managers.admins.join(', ')}).
        </p>
      )}
      <ul>
        {members.map((u) => (
          <li key={u} className="row" style={{ alignItems: 'center' }}>
            <span>{u}</span>
            <Link href={`/safety/${encodeURIComponent(u)}`}>Safety number</Link>
            {mayManage && <button type="button" className="secondary" disabled={act.busy} onClick={() => void act.run(() => m.removeMembers(groupId, [u]))}>Remove {u}</button>}
          </li>
        ))}
      </ul>
      {mayManage && (
        <>
          <form className="row" onSubmit={(e) => { e.preventDefault(); void act.run(async () => { await m.addMembers(groupId, add.split(/[\s,]+/).filter(Boolean)); setAdd(''); }); }}>
            <Field label="Add people" value={add} onChange={setAdd} required />
            <button type="submit" disabled={act.busy}>Add</button>
          </form>
          <form className="row" onSubmit={(e) => { e.preventDefault(); void act.run(async () => { await m.rename(groupId, name); setName(''); }); }}>
            <Field label="Rename the chat" value={name} onChange={setName} required />
            <button type="submit" disabled={act.busy}>Rename</button>
          </form>
        </>
      )}
      <button type="button" className="danger" disabled={act.busy} onClick={() => void act.run(() => m.leave(groupId))}>Leave this chat</button>
      <ErrorNotice error={act.error} />
    </Card>
  );
}
