/**
 * Messenger commands: `doublelock register`, `devices …`, `chat …`, `send`, `listen`, `history`,
 * `safety-number`, `report`. Each device keeps its keys and MLS state in a profile folder (SQLite), so two
 * terminals with two profiles can chat against `npm start`:
 *   doublelock register alice --profile ./alice        doublelock register bob --profile ./bob
 *   doublelock chat create bob --profile ./alice       doublelock listen --profile ./bob
 *   doublelock send <chat> "hello" --profile ./alice
 * or interactively: `doublelock listen --chat <chat>` prints incoming messages and sends each typed line.
 */
import { Messenger, type ChatMessage, type MessengerEvent, type ReceivedMessage, type TransparencyConfig } from '@doublelock/client';
import { deploymentOptions } from '../deployment.ts';
import { SqliteStorage } from '@doublelock/client/node/sqliteStorage';
import type { Command } from 'commander';
import type { ImagePreviewer } from '@doublelock/client';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** Loaded on first use: sharp (a native image library) is needed only when an image is sent. */
const imagePreview: ImagePreviewer = async (open) => (await import('@doublelock/client/node/imagePreview')).imagePreview(open);

const IMAGE_TYPES: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif' };
/** Images by their extension (they get a preview); everything else is plain bytes. */
const mimeOf = (path: string) => IMAGE_TYPES[path.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream';
import { ed25519 } from '@noble/curves/ed25519.js';

/**
 * A command signs and verifies a handful of times, then exits: a small table for the base point (4-bit
 * windows, 8 times fewer points to build than the library's default 6) costs less than the default's
 * build alone; the default suits the server, which multiplies the base point millions of times.
 */
ed25519.Point.BASE.precompute(4);

/** The WebSocket implementation, loaded by the commands that receive pushes (`listen`), not by every command. */
const webSocket = async () => (await import('ws')).default as never;

interface ProfileOptions {
  profile: string;
  server?: string;
  logKey?: string;
}

const DEFAULT_SERVER = process.env.DOUBLELOCK_SERVER ?? 'http://127.0.0.1:8080';
const DEFAULT_PROFILE = process.env.DOUBLELOCK_PROFILE ?? './doublelock-profile';

export function withProfile(command: Command): Command {
  return command
    .option('--profile <dir>', 'folder holding this device’s keys and chats', DEFAULT_PROFILE)
    .option('--server <url>', 'server base URL (register/link only; later commands use the profile’s)', DEFAULT_SERVER)
    .option('--log-key <key>', 'the deployment’s transparency log key to pin (register/link; default $DOUBLELOCK_LOG_KEY, else the server’s, pinned on first use)');
}

const PINNED_LOG_KEY = 'cli/logKey';

/**
 * Key transparency is always on: the profile pins the deployment's log key when it is created (given with
 * --log-key or $DOUBLELOCK_LOG_KEY, else the server's own, announced as pinned on first use) and every
 * later command verifies every account against the log under that key — never a key the server offers later.
 */
async function pinnedTransparency(storage: SqliteStorage, server: string, given: string | undefined): Promise<TransparencyConfig> {
  const pinned = await storage.get(PINNED_LOG_KEY);
  const wanted = given ?? process.env.DOUBLELOCK_LOG_KEY;
  if (pinned) {
    const logKey = new TextDecoder().decode(pinned);
    if (wanted && wanted !== logKey) throw new Error(`This profile pinned the log key ${logKey}, not ${wanted}.`);
    return { logKey };
  }
  let logKey = wanted;
  if (!logKey) {
    const response = await fetch(new URL('/v1/app-config', server)).catch((error: unknown) => {
      throw new Error(`Cannot reach ${server} to pin its transparency log key: ${(error as Error).message}`, { cause: error });
    });
    if (!response.ok) throw new Error(`${server} did not give its transparency log key (HTTP ${response.status}).`);
    logKey = ((await response.json()) as { logKey: string }).logKey;
    console.error(`Pinned the server's transparency log key (first use): ${logKey}`);
  }
  await storage.write([{ key: PINNED_LOG_KEY, value: new TextEncoder().encode(logKey) }]);
  return { logKey };
}

/** Alarms from own-account monitoring go to stderr whatever the command. */
function printAlarms(m: Messenger): Messenger {
  m.on((e) => {
    if (e.type === 'transparency_alarm') console.error(`!!! key transparency alarm: ${e.alarm.message}`);
    else if (e.type === 'own_device_added') console.error(`* a device was added to your account: ${e.deviceId}`);
  });
  return m;
}

function storageFor(profile: string, create: boolean): SqliteStorage {
  const dir = resolve(profile);
  const file = join(dir, 'device.db');
  if (!create && !existsSync(file)) throw new Error(`No device in ${dir}: run "doublelock register <username> --profile ${profile}" first.`);
  mkdirSync(dir, { recursive: true });
  return new SqliteStorage(file);
}

async function open(options: ProfileOptions, push = false): Promise<Messenger> {
  const storage = storageFor(options.profile, false);
  const device = await storage.get('device');
  const server = device ? (JSON.parse(new TextDecoder().decode(device)) as { server: string }).server : options.server ?? DEFAULT_SERVER;
  // Key transparency (with the deployment's witnesses) always; escrow where lawful access is on.
  const deployment = await deploymentOptions(server, storage, await pinnedTransparency(storage, server, options.logKey));
  const messenger = printAlarms(await Messenger.open({ serverUrl: server, storage, ...(push && { webSocket: await webSocket() }), imagePreview, ...deployment }));
  closers.set(messenger, deployment.close);
  return messenger;
}

/**
 * A new device (register, link) in a profile that holds none yet, with the deployment's options (the log key
 * pinned now, escrow where lawful access is on); the deployment's resources are closed once `make` is done.
 */
async function withNewDevice<T>(options: ProfileOptions, make: (config: Parameters<typeof Messenger.register>[0]) => Promise<T>): Promise<T> {
  const storage = storageFor(options.profile, true);
  if (await storage.get('device')) throw new Error(`${resolve(options.profile)} already holds a device.`);
  const server = options.server ?? DEFAULT_SERVER;
  const deployment = await deploymentOptions(server, storage, await pinnedTransparency(storage, server, options.logKey));
  try {
    return await make({ serverUrl: server, storage, webSocket: await webSocket(), ...deployment });
  } finally {
    deployment.close();
  }
}

/** Each opened messenger's deployment resources (the escrow provider's prefetch timer). */
const closers = new WeakMap<Messenger, () => void>();

/** Runs with an opened device, closing it afterwards. */
export async function using<T>(options: ProfileOptions, fn: (m: Messenger) => Promise<T>): Promise<T> {
  const messenger = await open(options);
  try {
    return await fn(messenger);
  } finally {
    await messenger.close();
    closers.get(messenger)?.();
  }
}

/** A group by id or unique id prefix, or by exact name. */
export async function resolveGroup(m: Messenger, ref: string): Promise<string> {
  const groups = (await m.groups()).filter((g) => g.status === 'active');
  const matches = groups.filter((g) => g.groupId.startsWith(ref) || g.name === ref);
  if (matches.length === 1) return matches[0]!.groupId;
  if (matches.length === 0) throw new Error(`No chat "${ref}" on this device (see "doublelock chat list").`);
  throw new Error(`"${ref}" matches ${matches.length} chats: give more of the id.`);
}

export const short = (groupId: string) => groupId.slice(0, 10);

function describe(message: ReceivedMessage, groupName: string): string {
  const when = new Date(message.serverTime).toISOString().replace('T', ' ').slice(0, 19);
  const who = `${message.sender.username}`;
  const c = message.content;
  return `${when} [${groupName} ${short(message.groupId)} #${message.seq}] ${who}: ${contentText(c)}`;
}

/** One line for a content item (what `listen` prints as it arrives). */
export function contentText(c: ReceivedMessage['content']): string {
  switch (c.type) {
    case 'text':
      return c.replyTo ? `(reply) ${c.text}` : c.text;
    case 'file':
      return `[file ${c.name}, ${c.size} bytes${c.preview ? `, preview ${c.preview.width}×${c.preview.height}` : ''}${c.caption ? `: ${c.caption}` : ''}]`;
    case 'rename':
      return `[renamed the chat to "${c.name}"]`;
    case 'leave':
      return '[left the chat]';
    case 'reaction':
      return c.remove ? `[took back ${c.emoji}]` : `[reacted ${c.emoji}]`;
    case 'edit':
      return `[edited a message: ${c.text}]`;
    case 'delete':
      return '[deleted a message]';
    case 'receipt':
      return `[read ${c.read.length} message(s)]`;
    case 'typing':
      return c.active ? '[is typing…]' : '[stopped typing]';
    case 'timer':
      return c.seconds > 0 ? `[set disappearing messages to ${c.seconds} s]` : '[turned disappearing messages off]';
    case 'admins':
      return `[admins: ${c.usernames.join(', ')}]`;
    case 'trust':
      return `[trust in ${c.username} ${c.verified ? 'verified' : 'reviewed'} on another device]`;
    case 'rejoin_ack':
      return '[confirmed a rejoin]';
  }
}

/** One line for a message as the chat shows it (history). */
function describeShown(m: ChatMessage): string {
  const when = new Date(m.serverTime).toISOString().replace('T', ' ').slice(0, 19);
  const body = m.deleted ? '[deleted]' : m.content ? contentText(m.content) : '';
  const reply = m.replyTo ? ` ↪ ${m.replyTo.sender ?? '?'}: "${m.replyTo.excerpt ?? '…'}"` : '';
  const reactions = Object.entries(m.reactions).map(([emoji, who]) => `${emoji} ${who.join(', ')}`).join('; ');
  const extras = [m.edited ? 'edited' : '', reactions, m.readBy.length ? `read by ${m.readBy.join(', ')}` : '', m.expiresAt ? `disappears ${new Date(m.expiresAt).toISOString().slice(11, 19)}` : '']
    .filter(Boolean)
    .join(' · ');
  return `${when} #${m.seq} ${m.sender.username}: ${body}${reply}${extras ? `  (${extras})` : ''}`;
}

export function register(program: Command): void {
  withProfile(program.command('register <username>').description('create an account with this device as its first device'))
    .option('--device-name <name>', 'name of this device', 'cli')
    .action((username: string, options: ProfileOptions & { deviceName: string }) =>
      withNewDevice(options, async (config) => {
        const m = await Messenger.register(config, username, options.deviceName);
        console.log(`Registered ${m.username}; this device is ${m.deviceId} (profile ${resolve(options.profile)}).`);
        await m.close();
      }),
    );

  const devices = program.command('devices').description('this account’s devices');
  withProfile(devices.command('list', { isDefault: true }).description('list the account’s devices')).action(async (options: ProfileOptions) =>
    using(options, async (m) => {
      for (const d of await m.devices()) {
        const state = d.revokedAt ? `revoked ${new Date(d.revokedAt).toISOString()}` : 'active';
        console.log(`${d.deviceId}  ${d.name.padEnd(16)} ${state}${d.deviceId === m.deviceId ? '  (this device)' : ''}`);
      }
    }),
  );
  withProfile(devices.command('link <username>').description('make this profile a new device of your account: shows a code to approve on one of your devices'))
    .option('--device-name <name>', 'name of this device', 'cli')
    .action((username: string, options: ProfileOptions & { deviceName: string }) =>
      withNewDevice(options, async (config) => {
        const pending = await Messenger.link(config, username, options.deviceName);
        console.log(`This device made its own keys. On one of your devices run:\n  doublelock devices approve ${pending.code} --name ${options.deviceName}`);
        console.log('Waiting for approval…');
        const m = printAlarms(await pending.complete());
        console.log(`Linked as ${m.username}/${m.deviceId}.`);
        await m.close();
      }),
    );
  withProfile(devices.command('approve <code>').description('approve a new device from the code it shows, and add it to your chats'))
    .option('--name <name>', 'name of the new device', 'linked device')
    .action(async (code: string, options: ProfileOptions & { name: string }) =>
      using(options, async (m) => {
        await m.sync();
        const { deviceId, inAllChats } = await m.approveDevice(code, options.name);
        console.log(`Approved device ${deviceId} (${options.name}).`);
        console.log(inAllChats ? 'It is in all your chats.' : 'It joins your chats once it is online: run "doublelock devices sync" here later.');
      }),
    );
  withProfile(devices.command('sync').description('add this account’s new devices to every chat, remove revoked ones')).action(async (options: ProfileOptions) =>
    using(options, async (m) => {
      await m.sync();
      await m.reconcileDevices();
      console.log('Chats are in line with the key directory.');
    }),
  );
  withProfile(devices.command('revoke <deviceId>').description('revoke a device and remove it from every chat')).action(async (deviceId: string, options: ProfileOptions) =>
    using(options, async (m) => {
      await m.sync();
      await m.revokeDevice(deviceId);
      console.log(`Revoked ${deviceId}.`);
    }),
  );

  const chat = program.command('chat').description('chats (1:1 and groups)');
  withProfile(chat.command('create <usernames...>').description('a chat with these people (one name: a 1:1 chat)'))
    .option('--name <name>', 'group name')
    .option('--no-external-rejoin', 'groups: a device that lost its state rejoins only when a member re-adds it (no GroupInfo kept at the server)')
    .action(async (usernames: string[], options: ProfileOptions & { name?: string; externalRejoin: boolean }) =>
      using(options, async (m) => {
        await m.sync();
        const oneToOne = usernames.length === 1 && !options.name;
        const before = new Set((await m.groups()).map((g) => g.groupId));
        // Groups made here have their creator as admin (as in Signal); "chat admins" changes that.
        const groupId = oneToOne ? await m.createChat(usernames[0]!) : await m.createGroup(options.name ?? usernames.join(', '), usernames, { admins: true, externalRejoin: options.externalRejoin });
        const what = oneToOne ? `Chat with ${usernames[0]}` : `Group "${options.name ?? usernames.join(', ')}" with ${usernames.join(', ')}`;
        console.log(`${what}: ${groupId}${before.has(groupId) ? ' (you already had this chat)' : ''}`);
      }),
    );
  withProfile(chat.command('list', { isDefault: true }).description('chats on this device')).action(async (options: ProfileOptions) =>
    using(options, async (m) => {
      await m.sync();
      for (const g of await m.groups()) {
        const people = [...new Set(g.members.map((x) => x.username))].join(', ');
        console.log(`${g.groupId}  ${g.name}  [${g.status}, epoch ${g.epoch}, ${g.members.length} devices: ${people}]`);
      }
    }),
  );
  withProfile(chat.command('add <chat> <usernames...>').description('add people (all their devices)')).action(async (ref: string, usernames: string[], options: ProfileOptions) =>
    using(options, async (m) => {
      await m.sync();
      await m.addMembers(await resolveGroup(m, ref), usernames);
      console.log(`Added ${usernames.join(', ')} (all their devices).`);
    }),
  );
  withProfile(chat.command('remove <chat> <usernames...>').description('remove people (all their devices)')).action(async (ref: string, usernames: string[], options: ProfileOptions) =>
    using(options, async (m) => {
      await m.sync();
      await m.removeMembers(await resolveGroup(m, ref), usernames);
      console.log(`Removed ${usernames.join(', ')} (all their devices).`);
    }),
  );
  withProfile(chat.command('rename <chat> <name>').description('rename a chat for everyone')).action(async (ref: string, name: string, options: ProfileOptions) =>
    using(options, async (m) => {
      await m.sync();
      await m.rename(await resolveGroup(m, ref), name);
      console.log(`Renamed the chat to "${name}" for everyone.`);
    }),
  );
  withProfile(chat.command('leave <chat>').description('leave a chat')).action(async (ref: string, options: ProfileOptions) =>
    using(options, async (m) => {
      await m.sync();
      await m.leave(await resolveGroup(m, ref));
      console.log('You left the chat; it is gone from this device.');
    }),
  );

  withProfile(program.command('send <chat> [text...]').description('send a text, or a file with --file'))
    .option('--file <path>', 'send this file (encrypted client-side, uploaded as a blob)')
    .action(async (ref: string, words: string[], options: ProfileOptions & { file?: string }) =>
      using(options, async (m) => {
        await m.sync();
        const groupId = await resolveGroup(m, ref);
        const text = words.join(' ');
        if (options.file) {
          // Streamed from the disk (read twice: hashed, then uploaded), never held whole.
          const path = options.file;
          const file = { open: () => createReadStream(path), size: statSync(path).size, name: basename(path), mime: mimeOf(path) };
          const sent = await m.sendFileStream(groupId, file, text || undefined);
          console.log(`sent ${file.name} (${file.size} bytes, #${sent.seq})`);
        } else {
          if (!text) throw new Error('Nothing to send: give a text or --file.');
          const sent = await m.sendText(groupId, text);
          console.log(`sent (#${sent.seq})`);
        }
      }),
    );

  withProfile(program.command('listen').description('print incoming messages as they arrive (Ctrl-C stops)'))
    .option('--save-dir <dir>', 'download received files here')
    .option('--once', 'catch up, print, and exit instead of staying connected')
    .option('--chat <chat>', 'interactive: also send each line typed on stdin to this chat')
    .action(async (options: ProfileOptions & { saveDir?: string; once?: boolean; chat?: string }) => {
      const m = await open(options, true);
      const names = new Map((await m.groups()).map((g) => [g.groupId, g.name]));
      const print = async (e: MessengerEvent) => {
        if (e.type === 'message') {
          if (e.message.content.type === 'rename') names.set(e.message.groupId, e.message.content.name);
          console.log(describe(e.message, names.get(e.message.groupId) ?? 'chat'));
          if (e.message.content.type === 'file' && options.saveDir) {
            mkdirSync(options.saveDir, { recursive: true });
            const path = join(options.saveDir, basename(e.message.content.name));
            // Streamed to a temporary file, renamed into place only once every check has passed.
            const partial = `${path}.part`;
            try {
              await pipeline(Readable.from(m.downloadFileStream(e.message.groupId, e.message.content)), createWriteStream(partial));
              renameSync(partial, path);
              console.log(`  saved to ${path} (hash checked)`);
            } catch (error) {
              rmSync(partial, { force: true });
              console.error(`! ${e.message.content.name} not saved: ${(error as Error).message}`);
            }
          }
        } else if (e.type === 'joined') {
          names.set(e.groupId, 'chat');
          console.log(`* added to chat ${e.groupId}`);
        } else if (e.type === 'membership') {
          const who = (xs: Array<{ username: string }>) => [...new Set(xs.map((x) => x.username))].join(', ');
          if (e.added.length) console.log(`* ${short(e.groupId)}: added ${who(e.added)}`);
          if (e.removed.length) console.log(`* ${short(e.groupId)}: removed ${who(e.removed)}`);
        } else if (e.type === 'removed') {
          console.log(`* removed from chat ${e.groupId}`);
        } else if (e.type === 'rejected') {
          console.error(`! refused ${e.item.kind} #${e.item.seq} in ${short(e.item.groupId)} from ${e.item.sender.username}: ${e.error.message}`);
        } else if (e.type === 'buffered') {
          console.log(`* ${short(e.groupId)}: #${e.seq} kept until its commit arrives`);
        } else if (e.type === 'commit_voided') {
          const what = e.rolledBack ? 'this device went back to the epoch before it' : e.appliedHere ? 'this device had accepted it and is now out of step' : 'the chat goes on without it';
          console.error(`! ${short(e.groupId)}: commit #${e.seq} was voided (its members found it invalid): ${what}`);
        } else if (e.type === 'delivery_mismatch') {
          const who = (xs: Array<{ username: string }>) => [...new Set(xs.map((x) => x.username))].join(', ');
          if (e.cutOut) console.error(`! ${short(e.groupId)}: the server no longer delivers this chat to this device, though it is still a member`);
          else if (e.notDelivered.length) console.error(`! ${short(e.groupId)}: the server does not deliver to ${who(e.notDelivered)}, though they are members`);
          if (e.unknown.length) console.error(`! ${short(e.groupId)}: the server delivers to ${e.unknown.length} device(s) that are not members`);
        } else if (e.type === 'rejoined') {
          console.log(`* ${short(e.groupId)}: ${e.username}'s device ${e.deviceId} lost its state and rejoined`);
        } else if (e.type === 'rejoin_requested') {
          console.log(`* ${short(e.groupId)}: this device lost its place in the chat and asked to be re-added`);
        } else if (e.type === 'rejoin_pending') {
          console.log(`* ${short(e.groupId)}: this device lost its state and rejoined; waiting for a member to confirm before sending`);
        } else if (e.type === 'rejoin_unconfirmed') {
          console.error(`! ${short(e.groupId)}: no member confirmed this device's rejoin (possibly a copy of the chat the server made): asking to be re-added instead`);
        } else if (e.type === 'leaf_flagged') {
          const f = e.finding;
          console.error(`! ${short(f.groupId)}: device ${f.deviceId} of ${f.username} ${f.removed ? 'removed' : 'flagged'}: ${f.reason}`);
        } else if (e.type === 'transparency_alarm' || e.type === 'own_device_added') {
          // printed by printAlarms
        } else {
          console.error(`! ${e.error.message}`);
        }
      };
      m.on((e) => {
        print(e).catch((error: unknown) => console.error(`! ${(error as Error).message}`));
      });
      if (options.once) {
        await m.sync();
        await m.close();
        return;
      }
      await m.connect();
      await m.reconcileDevices();
      console.log(`Listening as ${m.username}/${m.deviceId} — Ctrl-C stops.`);
      if (options.chat) {
        const groupId = await resolveGroup(m, options.chat);
        console.log(`Type a line and press Enter to send it to ${names.get(groupId) ?? 'the chat'} ${short(groupId)}.`);
        const lines = createInterface({ input: process.stdin });
        lines.on('line', (line) => {
          if (!line.trim()) return;
          m.sendText(groupId, line).catch((error: unknown) => console.error(`! not sent: ${(error as Error).message}`));
        });
        lines.on('close', () => {
          m.close().then(() => process.exit(0), () => process.exit(1));
        });
      }
      const stop = () => {
        m.close().then(() => process.exit(0), () => process.exit(1));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });

  withProfile(program.command('history <chat>').description('the chat as shown: messages with replies, reactions, edits, deletes and who read them')).action(async (ref: string, options: ProfileOptions) =>
    using(options, async (m) => {
      await m.sync();
      const groupId = await resolveGroup(m, ref);
      const view = await m.conversation(groupId);
      if (view.length === 0) console.log('No messages in this chat yet.');
      for (const message of view) console.log(describeShown(message));
      // Opening the history reads the chat: receipts go out (unless turned off in settings).
      await m.markRead(groupId);
    }),
  );

  withProfile(program.command('safety-number <username>').description('the number to compare with a contact, in person or on a call')).action(
    async (username: string, options: ProfileOptions) => using(options, async (m) => console.log(await m.safetyNumber(username))),
  );

  withProfile(program.command('report <chat> <seq> [reason...]').description('report a received message to the provider (reveals only that message)')).action(
    async (ref: string, seq: string, reason: string[], options: ProfileOptions) =>
      using(options, async (m) => {
        const groupId = await resolveGroup(m, ref);
        const message = (await m.history(groupId)).find((x) => x.seq === Number(seq));
        if (!message) throw new Error(`No received message #${seq} in that chat (see "doublelock history").`);
        const result = await m.report(message, reason.join(' '));
        console.log(`Reported: report ${result.reportId}, verified by the server as sent by ${message.sender.username}.`);
      }),
  );
}
