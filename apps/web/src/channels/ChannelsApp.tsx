/** Public channels: browse, follow, post text, images, video and links, hashtag pages, and why a post was refused. */
import { ApiError } from '@doublelock/client/api/serverApi';
import type { z } from 'zod';
import type { postResponse, publicReason } from '@doublelock/protocol/channels';
import { useState } from 'react';
import { Link, Route, Switch } from 'wouter';
import { humanMessage } from '../ui/errors.ts';
import { Card, ErrorNotice, Field, Loading, Notice, Page, useAction, useLoad } from '../ui/components.tsx';
import { useDraft } from '../ui/drafts.ts';
import { channelsSession } from './api.ts';
import { Statements } from './statements.tsx';

type Post = z.infer<typeof postResponse>;
type Reason = z.infer<typeof publicReason>;

export default function ChannelsApp() {
  return (
    <Switch>
      <Route path="/c/:handle">{(p) => <ChannelPage handle={p.handle} />}</Route>
      <Route path="/tag/:tag">{(p) => <HashtagPage tag={p.tag} />}</Route>
      <Route path="/mine"><MyPosts /></Route>
      <Route path="/statements"><Statements /></Route>
      <Route><Browse /></Route>
    </Switch>
  );
}

function Browse() {
  const session = useLoad(channelsSession, []);
  const list = useLoad(async () => (await (await channelsSession()).api.channels({ limit: 50 })).channels, []);
  const [handle, setHandle] = useState('');
  const [name, setName] = useState('');
  const [created, setCreated] = useState<string>();
  const create = useAction(async () => {
    const channel = await (await channelsSession()).api.createChannel({ handle, name, description: '' });
    setCreated(channel.handle);
    list.reload();
  });
  return (
    <Page title="Channels">
      {list.loading && <Loading what="channels" />}
      <ErrorNotice error={list.error} />
      {list.data && (list.data.length === 0 ? <p>No channels yet.</p> : (
        <ul>
          {list.data.map((c) => (
            <li key={c.handle}><Link href={`/c/${c.handle}`}>{c.name}</Link> <span className="muted">@{c.handle} · {c.followers} follower(s) · {c.posts} post(s)</span></li>
          ))}
        </ul>
      ))}
      {session.data?.username ? (
        <>
          <p><Link href="/mine">Your posts and decisions about them</Link> · <Link href="/statements">Statements of reasons and appeals</Link></p>
          <Card title="Start a channel">
            <form className="row" onSubmit={(e) => { e.preventDefault(); void create.run(); }}>
              <Field label="Handle" hint="letters, digits, _ and -" value={handle} onChange={setHandle} required />
              <Field label="Channel name" value={name} onChange={setName} required />
              <button type="submit" disabled={create.busy}>Create channel</button>
            </form>
            <ErrorNotice error={create.error} />
            {created && <Notice>Channel <Link href={`/c/${created}`}>@{created}</Link> created.</Notice>}
          </Card>
        </>
      ) : (
        session.data && <p className="muted">To post or follow, <Link href="~/chats">create an account in the messenger</Link> first.</p>
      )}
    </Page>
  );
}

function Reasons({ reasons }: { reasons: Reason[] }) {
  return (
    <ul>
      {reasons.map((r, i) => (
        <li key={i}><strong>{r.description || r.label}</strong> ({r.label}) — {r.source}; action: {r.action}</li>
      ))}
    </ul>
  );
}

/** Text with its hashtags linked to their pages. */
function PostText({ text }: { text: string }) {
  const parts = text.split(/(#[\p{L}\p{N}_]+)/u);
  return <p style={{ whiteSpace: 'pre-wrap', margin: 0 }}>{parts.map((p, i) => (p.startsWith('#') ? <Link key={i} href={`/tag/${encodeURIComponent(p.slice(1))}`}>{p}</Link> : p))}</p>;
}

function PostItem({ post }: { post: Post }) {
  return (
    <li className="card" data-post={post.id}>
      <div className="meta muted"><Link href={`/c/${post.channel.handle}`}>{post.channel.name}</Link> · <time dateTime={new Date(post.createdAt).toISOString()}>{new Date(post.createdAt).toLocaleString()}</time>{post.visibility && post.visibility !== 'published' && ` · ${post.visibility}`}</div>
      <PostText text={post.text} />
      {post.media.map((m) => (m.kind === 'image' ? <img key={m.id} src={m.url} alt={`Image posted in ${post.channel.name}`} style={{ maxWidth: '100%', maxHeight: '24rem' }} /> : <video key={m.id} src={m.url} controls style={{ maxWidth: '100%' }} aria-label={`Video posted in ${post.channel.name}`} />))}
      {post.links.length > 0 && <ul>{post.links.map((l) => <li key={l}><a href={l} rel="noopener noreferrer nofollow">{l}</a></li>)}</ul>}
      {post.labels.length > 0 && <p className="muted">Labels: {post.labels.join(', ')}</p>}
      {post.decision && (post.decision.verdict !== 'publish' || post.decision.reasons.length > 0) && (
        <div className="alert warning">
          <strong>Decision: {post.decision.verdict}</strong>
          <Reasons reasons={post.decision.reasons} />
        </div>
      )}
    </li>
  );
}

function Posts({ posts }: { posts: Post[] }) {
  if (posts.length === 0) return <p>No posts yet.</p>;
  return <ol style={{ listStyle: 'none', padding: 0 }} aria-label="Posts">{posts.map((p) => <PostItem key={p.id} post={p} />)}</ol>;
}

function ChannelPage({ handle }: { handle: string }) {
  const session = useLoad(channelsSession, []);
  const channel = useLoad(async () => (await channelsSession()).api.channel(handle), [handle]);
  const feed = useLoad(async () => (await (await channelsSession()).api.channelFeed(handle, { limit: 50 })).items, [handle]);
  const follow = useAction(async (on: boolean) => {
    const api = (await channelsSession()).api;
    const r = on ? await api.follow(handle) : await api.unfollow(handle);
    channel.reload();
    return r.following;
  });
  if (channel.loading) return <Loading what="the channel" />;
  if (!channel.data) return <Page title="Channel"><ErrorNotice error={channel.error} /></Page>;
  const c = channel.data;
  const mine = session.data?.username === c.owner;
  return (
    <Page title={c.name}>
      <p className="muted">@{c.handle} · by {c.owner} · {c.followers} follower(s) · <Link href="/">All channels</Link></p>
      {c.description && <p>{c.description}</p>}
      {session.data?.username && !mine && (
        <div className="row">
          <button type="button" onClick={() => void follow.run(true)} disabled={follow.busy}>Follow</button>
          <button type="button" className="secondary" onClick={() => void follow.run(false)} disabled={follow.busy}>Unfollow</button>
          {follow.data !== undefined && <span role="status">{follow.data ? 'Following' : 'Not following'}</span>}
        </div>
      )}
      <ErrorNotice error={follow.error} />
      {mine && <Composer handle={handle} onPosted={feed.reload} />}
      <h2>Posts</h2>
      <ErrorNotice error={feed.error} />
      {feed.data && <Posts posts={feed.data.flatMap((i) => (i.type === 'post' ? [i.post] : []))} />}
    </Page>
  );
}

/** Writes a post; a refusal shows the server's message and every reason at once. */
function Composer({ handle, onPosted }: { handle: string; onPosted: () => void }) {
  const [text, setText, clearText] = useDraft(`post:${handle}`);
  const [files, setFiles] = useState<File[]>([]);
  const [blocked, setBlocked] = useState<{ message: string; reasons: Reason[] }>();
  const post = useAction(async () => {
    setBlocked(undefined);
    const api = (await channelsSession()).api;
    const media: number[] = [];
    for (const f of files) media.push((await api.uploadMedia(handle, new Uint8Array(await f.arrayBuffer()))).id);
    try {
      const created = await api.createPost(handle, { text, media, links: [], categories: [] });
      clearText();
      setFiles([]);
      onPosted();
      return created;
    } catch (error) {
      if (error instanceof ApiError && error.code === 'content_blocked') {
        setBlocked({ message: humanMessage(error), reasons: (error.details as { reasons?: Reason[] } | undefined)?.reasons ?? [] });
        return undefined;
      }
      throw error;
    }
  });
  return (
    <Card title="Post to this channel">
      <form className="stack" onSubmit={(e) => { e.preventDefault(); void post.run(); }}>
        <Field label="Post" hint="hashtags and links welcome" multiline value={text} onChange={setText} />
        <div className="field">
          <label htmlFor="post-media">Images or videos</label>
          <input id="post-media" type="file" multiple accept="image/*,video/*" onChange={(e) => setFiles([...(e.target.files ?? [])])} />
        </div>
        <button type="submit" disabled={post.busy}>{post.busy ? 'Posting…' : 'Post'}</button>
      </form>
      <ErrorNotice error={post.error} />
      {blocked && (
        <Notice kind="warning" title="Your post was not published">
          <p>{blocked.message}</p>
          <Reasons reasons={blocked.reasons} />
          <p><Link href="/mine">See your posts</Link> · <Link href="/statements">Statements of reasons and appeals</Link></p>
        </Notice>
      )}
      {post.data && <Notice>Posted ({post.data.visibility ?? 'published'}).</Notice>}
    </Card>
  );
}

function HashtagPage({ tag }: { tag: string }) {
  const posts = useLoad(async () => (await (await channelsSession()).api.hashtag(tag, { limit: 50 })).posts, [tag]);
  return (
    <Page title={`#${decodeURIComponent(tag)}`}>
      <p><Link href="/">All channels</Link></p>
      {posts.loading && <Loading what="posts" />}
      <ErrorNotice error={posts.error} />
      {posts.data && <Posts posts={posts.data} />}
    </Page>
  );
}

function MyPosts() {
  const posts = useLoad(async () => (await (await channelsSession()).api.myPosts({ limit: 100 })).posts, []);
  return (
    <Page title="Your posts">
      <p>Every post of yours, in every state. Where one was refused, held or restricted, the decision says why (a statement of reasons).</p>
      {posts.loading && <Loading what="your posts" />}
      <ErrorNotice error={posts.error} />
      {posts.data && <Posts posts={posts.data} />}
    </Page>
  );
}
