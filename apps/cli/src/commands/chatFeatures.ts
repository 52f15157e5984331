/**
 * Everyday chat commands beside chat.ts: `chat info|members|admins|timer`, `reply`, `react`, `edit`,
 * `delete`, `typing`, `read`, `block`, `unblock`, `blocked`, `settings`. Messages are named by their number
 * in `doublelock history` (#seq); each command says what it did.
 */
import type { Messenger } from '@doublelock/client';
import type { Command } from 'commander';
import { resolveGroup, using, withProfile } from './chat.ts';

interface ProfileOptions {
  profile: string;
  server?: string;
}

/** The client message id of message #seq in a chat. */
async function messageAt(m: Messenger, groupId: string, seqText: string): Promise<string> {
  const seq = Number(seqText.replace(/^#/, ''));
  if (!Number.isInteger(seq) || seq < 0) throw new Error(`"${seqText}" is not a message number (see "doublelock history").`);
  const found = (await m.history(groupId)).find((x) => x.seq === seq);
  if (!found) throw new Error(`No message #${seq} in that chat on this device (see "doublelock history").`);
  return found.clientMessageId;
}

/** "30s", "5m", "1h", "7d", a number of seconds, or "off". */
export function parseDuration(text: string): number {
  if (text === 'off' || text === '0') return 0;
  const match = /^(\d+)\s*(s|m|h|d|w)?$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a duration: use e.g. 30s, 5m, 1h, 7d, or off.`);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[(match[2] ?? 's') as 's'];
  return Number(match[1]) * unit;
}

const onOff = (text: string): boolean => {
  if (text === 'on') return true;
  if (text === 'off') return false;
  throw new Error(`"${text}" is neither on nor off.`);
};

export function register(program: Command): void {
  const chat = program.commands.find((c) => c.name() === 'chat');
  if (!chat) throw new Error('register chat.ts first');

  withProfile(chat.command('info <chat>').description('a chat’s name, id, members, admins and timer')).action(async (ref: string, options: ProfileOptions) =>
    using(options, async (m) => {
      await m.sync();
      const groupId = await resolveGroup(m, ref);
      const g = await m.group(groupId);
      const admins = await m.admins(groupId);
      const timer = [...(await m.history(groupId))].reverse().find((x) => x.content.type === 'timer');
      const people = [...new Set(g.members.map((x) => x.username))];
      console.log(`Name:     ${g.name}`);
      console.log(`Id:       ${g.groupId}`);
      console.log(`Status:   ${g.status}, epoch ${g.epoch}`);
      console.log(`Members:  ${people.join(', ')} (${g.members.length} devices)`);
      console.log(`Admins:   ${admins ? admins.join(', ') : 'none (everyone may add, remove and rename)'}`);
      console.log(`Disappearing messages: ${timer?.content.type === 'timer' && timer.content.seconds > 0 ? `after ${timer.content.seconds} s` : 'off'}`);
      console.log(`Rejoin:   ${(await m.externalRejoinAllowed(groupId)) ? 'a device that lost its state rejoins by itself (external commit)' : 're-add only (a member re-adds a device that lost its state)'}`);
    }),
  );
  withProfile(chat.command('members <chat>').description('who is in a chat, with their devices')).action(async (ref: string, options: ProfileOptions) =>
    using(options, async (m) => {
      await m.sync();
      const groupId = await resolveGroup(m, ref);
      const g = await m.group(groupId);
      const admins = new Set((await m.admins(groupId)) ?? []);
      const byPerson = new Map<string, string[]>();
      for (const x of g.members) byPerson.set(x.username, [...(byPerson.get(x.username) ?? []), x.deviceId]);
      for (const [username, devices] of byPerson) console.log(`${username}${admins.has(username) ? ' (admin)' : ''}${username === m.username ? ' (you)' : ''}: ${devices.length} device(s) ${devices.join(' ')}`);
    }),
  );
  withProfile(chat.command('admins <chat> <usernames...>').description('set who may add, remove and rename (admins only)')).action(async (ref: string, usernames: string[], options: ProfileOptions) =>
    using(options, async (m) => {
      await m.sync();
      await m.setAdmins(await resolveGroup(m, ref), usernames);
      console.log(`Admins are now ${usernames.join(', ')}.`);
    }),
  );
  withProfile(chat.command('timer <chat> <duration>').description('disappearing messages for everyone in the chat: 30s, 5m, 1h, 7d, or off')).action(
    async (ref: string, duration: string, options: ProfileOptions) =>
      using(options, async (m) => {
        const seconds = parseDuration(duration);
        await m.sync();
        await m.setDisappearingTimer(await resolveGroup(m, ref), seconds);
        console.log(seconds > 0 ? `New messages in this chat now disappear from every device ${seconds} s after they are sent.` : 'Disappearing messages are off for this chat.');
      }),
  );

  withProfile(program.command('reply <chat> <seq> <text...>').description('reply to message #seq')).action(async (ref: string, seq: string, words: string[], options: ProfileOptions) =>
    using(options, async (m) => {
      await m.sync();
      const groupId = await resolveGroup(m, ref);
      const sent = await m.reply(groupId, await messageAt(m, groupId, seq), words.join(' '));
      console.log(`replied to #${seq.replace(/^#/, '')} (#${sent.seq})`);
    }),
  );
  withProfile(program.command('react <chat> <seq> <emoji>').description('react to message #seq'))
    .option('--remove', 'take the reaction back')
    .action(async (ref: string, seq: string, emoji: string, options: ProfileOptions & { remove?: boolean }) =>
      using(options, async (m) => {
        await m.sync();
        const groupId = await resolveGroup(m, ref);
        await m.react(groupId, await messageAt(m, groupId, seq), emoji, options.remove);
        console.log(options.remove ? `took back ${emoji} on #${seq.replace(/^#/, '')}` : `reacted ${emoji} to #${seq.replace(/^#/, '')}`);
      }),
    );
  withProfile(program.command('edit <chat> <seq> <text...>').description('change the text of your message #seq, for everyone')).action(
    async (ref: string, seq: string, words: string[], options: ProfileOptions) =>
      using(options, async (m) => {
        await m.sync();
        const groupId = await resolveGroup(m, ref);
        await m.edit(groupId, await messageAt(m, groupId, seq), words.join(' '));
        console.log(`edited #${seq.replace(/^#/, '')}`);
      }),
  );
  withProfile(program.command('delete <chat> <seq>').description('delete your message #seq for everyone (every device removes it)')).action(
    async (ref: string, seq: string, options: ProfileOptions) =>
      using(options, async (m) => {
        await m.sync();
        const groupId = await resolveGroup(m, ref);
        await m.deleteMessage(groupId, await messageAt(m, groupId, seq));
        console.log(`deleted #${seq.replace(/^#/, '')} for everyone`);
      }),
  );
  withProfile(program.command('read <chat>').description('send read receipts for the chat (unless turned off)')).action(async (ref: string, options: ProfileOptions) =>
    using(options, async (m) => {
      await m.sync();
      const n = await m.markRead(await resolveGroup(m, ref));
      console.log(n > 0 ? `marked ${n} message(s) read` : 'nothing new to mark read (or read receipts are off)');
    }),
  );

  withProfile(program.command('block <username>').description('hide everything from this person and refuse new chats with them')).action(
    async (username: string, options: ProfileOptions) =>
      using(options, async (m) => {
        await m.block(username);
        console.log(`Blocked ${username}. "doublelock unblock ${username}" undoes it.`);
      }),
  );
  withProfile(program.command('unblock <username>').description('stop blocking this person')).action(async (username: string, options: ProfileOptions) =>
    using(options, async (m) => {
      await m.unblock(username);
      console.log(`Unblocked ${username}.`);
    }),
  );
  withProfile(program.command('blocked').description('people you have blocked')).action(async (options: ProfileOptions) =>
    using(options, async (m) => {
      const { blocked } = await m.preferences();
      console.log(blocked.length ? blocked.join('\n') : 'You have blocked no one.');
    }),
  );
  withProfile(program.command('settings').description('read receipts and typing indicators (reciprocal: off also hides the others’)'))
    .option('--read-receipts <on|off>', 'send and show read receipts')
    .option('--typing <on|off>', 'send and show typing indicators')
    .action(async (options: ProfileOptions & { readReceipts?: string; typing?: string }) =>
      using(options, async (m) => {
        const change = {
          ...(options.readReceipts !== undefined && { readReceipts: onOff(options.readReceipts) }),
          ...(options.typing !== undefined && { typingIndicators: onOff(options.typing) }),
        };
        const prefs = Object.keys(change).length ? await m.setPreferences(change) : await m.preferences();
        console.log(`Read receipts: ${prefs.readReceipts ? 'on' : 'off'}`);
        console.log(`Typing indicators: ${prefs.typingIndicators ? 'on' : 'off'}`);
        console.log(`Blocked: ${prefs.blocked.length ? prefs.blocked.join(', ') : 'no one'}`);
      }),
    );
}
