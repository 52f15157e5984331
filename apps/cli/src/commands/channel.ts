/**
 * `doublelock channel create|post|feed|follow`: public channels from the command line, as the device in a
 * profile folder (see chat.ts). Reading needs no account: `channel feed HANDLE --server URL` works for
 * anyone. A refused post prints the reasons the server gave and exits non-zero.
 */
import { ApiError, ServerApi } from '@doublelock/client';
import type { PostResponse } from '@doublelock/protocol';
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { using, withProfile } from './chat.ts';

interface ProfileOptions {
  profile: string;
  server?: string;
}

function describePost(p: PostResponse): string {
  const when = new Date(p.createdAt).toISOString().replace('T', ' ').slice(0, 16);
  const media = p.media.map((m) => `[${m.kind} ${m.width}×${m.height} ${m.url}]`).join(' ');
  const state = p.visibility && p.visibility !== 'published' ? ` (${p.visibility})` : '';
  const labels = p.labels.length ? ` {${p.labels.join(', ')}}` : '';
  return `#${p.id} ${when} @${p.channel.handle} ${p.author}${state}${labels}: ${p.text}${media ? ` ${media}` : ''}${p.replies ? ` · ${p.replies} replies` : ''}`;
}

function explain(error: unknown): never {
  if (error instanceof ApiError && error.code === 'content_blocked') {
    const reasons = (error.details as { reasons?: Array<{ label: string; description: string; source: string }> } | undefined)?.reasons ?? [];
    throw new Error(`the post was refused:\n${reasons.map((r) => `  - ${r.label}: ${r.description} (${r.source})`).join('\n')}`);
  }
  throw error;
}

/** Reads without an account when there is no profile; with one, as that account. */
async function reader<T>(options: ProfileOptions, fn: (api: ServerApi) => Promise<T>): Promise<T> {
  if (existsSync(join(resolve(options.profile), 'device.db'))) return using(options, (m) => fn(m.api));
  return fn(new ServerApi(options.server ?? process.env.DOUBLELOCK_SERVER ?? 'http://127.0.0.1:8080'));
}

export function register(program: Command): void {
  const channel = program.command('channel').description('public channels: create, post, read, follow');

  withProfile(channel.command('create <handle>').description('create a channel'))
    .option('--name <name>', 'display name (default: the handle)')
    .option('--description <text>', 'what the channel is about', '')
    .action(async (handle: string, options: ProfileOptions & { name?: string; description: string }) => {
      const c = await using(options, (m) => m.api.createChannel({ handle, name: options.name ?? handle, description: options.description }));
      process.stdout.write(`Channel @${c.handle} is ready: ${c.url}\n`);
    });

  withProfile(channel.command('post <handle> [text...]').description('post text, images, a video and links (checked before anyone sees them)'))
    .option('--image <file...>', 'images to attach')
    .option('--video <file...>', 'videos to attach (the post stays pending until checked)')
    .option('--link <url...>', 'links besides those in the text')
    .option('--category <id...>', 'IAB Sensitive Topics the post falls under (keeps such adverts away)')
    .option('--reply-to <postId>', 'reply to this post instead')
    .option('--json', 'print the post as JSON')
    .action(async (handle: string, words: string[], options: ProfileOptions & { image?: string[]; video?: string[]; link?: string[]; category?: string[]; replyTo?: string; json?: boolean }) => {
      const files = [...(options.image ?? []), ...(options.video ?? [])];
      for (const f of files) if (!existsSync(f)) throw new Error(`no such file: ${f}`);
      const post = await using(options, async (m) => {
        const media: number[] = [];
        for (const f of files) {
          const uploaded = await m.api.uploadMedia(handle, readFileSync(f));
          process.stderr.write(`uploaded ${f}: ${uploaded.kind} ${uploaded.contentType} ${uploaded.width}×${uploaded.height}\n`);
          media.push(uploaded.id);
        }
        const body = { text: words.join(' '), media, links: options.link ?? [], categories: (options.category ?? []) as never };
        try {
          return options.replyTo ? await m.api.reply(Number(options.replyTo), body) : await m.api.createPost(handle, body);
        } catch (error) {
          return explain(error);
        }
      });
      if (options.json) process.stdout.write(`${JSON.stringify(post)}\n`);
      else {
        process.stdout.write(`${describePost(post)}\n`);
        if (post.visibility === 'pending') process.stdout.write('The video is being checked; the post appears once it passes.\n');
        if (post.visibility === 'held') process.stdout.write(`Held for review: ${post.decision?.reasons.map((r) => r.label).join(', ')}\n`);
      }
    });

  withProfile(channel.command('feed [handle]').description("a channel's posts, a hashtag's, or your home feed"))
    .option('--tag <hashtag>', 'posts with this hashtag')
    .option('--home', 'posts of the channels you follow')
    .option('--mine', 'your own posts in every state, with decisions')
    .option('--limit <n>', 'how many', '20')
    .option('--before <id>', 'older than this post (paging)')
    .option('--json', 'one JSON object a line')
    .action(async (handle: string | undefined, options: ProfileOptions & { tag?: string; home?: boolean; mine?: boolean; limit: string; before?: string; json?: boolean }) => {
      const p = { limit: Number(options.limit), ...(options.before && { before: Number(options.before) }) };
      if (!Number.isInteger(p.limit) || p.limit < 1 || p.limit > 100) throw new Error('--limit is 1–100');
      const posts = await reader(options, async (api) => {
        if (options.home) return (await api.homeFeed(p)).posts;
        if (options.mine) return (await api.myPosts(p)).posts;
        if (options.tag) return (await api.hashtag(options.tag, p)).posts;
        if (!handle) throw new Error('give a channel handle, --tag, --home or --mine');
        return (await api.channelFeed(handle, p)).items.flatMap((i) => (i.type === 'post' ? [i.post] : []));
      });
      for (const post of posts) process.stdout.write(options.json ? `${JSON.stringify(post)}\n` : `${describePost(post)}\n`);
      if (!posts.length && !options.json) process.stdout.write('No posts.\n');
    });

  withProfile(channel.command('follow <handle>').description('follow a channel (its posts join your home feed)'))
    .option('--unfollow', 'stop following')
    .action(async (handle: string, options: ProfileOptions & { unfollow?: boolean }) => {
      const r = await using(options, (m) => (options.unfollow ? m.api.unfollow(handle) : m.api.follow(handle)));
      process.stdout.write(`${r.following ? 'Following' : 'No longer following'} @${handle} (${r.followers} followers).\n`);
    });
}
