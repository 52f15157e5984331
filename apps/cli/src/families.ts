import type { Command } from 'commander';

type Register = (program: Command) => void;
/**
 * Each command family: its top-level commands (with the descriptions `doublelock --help` lists) and how to
 * load it. A command imports only its own family (it starts without loading the server, MLS, sharp, … that
 * it does not use); top-level help lists these descriptions without loading any family.
 * apps/cli/test/commandTable.test.ts keeps the table equal to what the families register.
 */
export const FAMILIES: Array<{ commands: Record<string, string>; load: () => Promise<Register[]> }> = [
  {
    commands: { serve: 'run the Doublelock server' },
    load: async () => [(await import('./commands/serve.ts')).register],
  },
  {
    commands: { backup: 'back up a running server: its database (SQLite online backup, or pg_dump) and data folder', restore: 'restore a backup into a new data folder (and an empty PostgreSQL database)' },
    load: async () => [(await import('./commands/backup.ts')).register],
  },
  {
    commands: { register: 'create an account with this device as its first device', devices: 'this account’s devices', chat: 'chats (1:1 and groups)', send: 'send a text, or a file with --file', listen: 'print incoming messages as they arrive (Ctrl-C stops)', history: 'the chat as shown: messages with replies, reactions, edits, deletes and who read them', 'safety-number': 'the number to compare with a contact, in person or on a call', report: 'report a received message to the provider (reveals only that message)', reply: 'reply to message #seq', react: 'react to message #seq', edit: 'change the text of your message #seq, for everyone', delete: 'delete your message #seq for everyone (every device removes it)', read: 'send read receipts for the chat (unless turned off)', block: 'hide everything from this person and refuse new chats with them', unblock: 'stop blocking this person', blocked: 'people you have blocked', settings: 'read receipts and typing indicators (reciprocal: off also hides the others’)' },
    load: async () => [(await import('./commands/chat.ts')).register, (await import('./commands/chatFeatures.ts')).register],
  },
  {
    commands: { admin: 'operator commands on a server’s store' },
    load: async () => [(await import('./commands/admin.ts')).register],
  },
  {
    commands: { agency: 'an intercepting agency: submit warrants, collect intercepts, decrypt with custodians' },
    load: async () => [(await import('./commands/agency.ts')).register],
  },
  {
    commands: { custodian: 'a lawful-access custodian (one of the t-of-n key holders)' },
    load: async () => [(await import('@doublelock/custodian/command')).register],
  },
  {
    commands: { log: 'inspect, verify and audit a transparency log' },
    load: async () => [(await import('./commands/log.ts')).register],
  },
  {
    commands: { witness: 'witness a transparency log: check consistency, then cosign' },
    load: async () => [(await import('./commands/witness.ts')).register],
  },
  {
    commands: { hash: 'hash images (PDQ) and videos (vPDQ), with MD5 and SHA-256' },
    load: async () => [(await import('./commands/hash.ts')).register],
  },
  {
    commands: { bank: 'moderation banks: named collections of hashes and URLs of known terrorist content' },
    load: async () => [(await import('./commands/bank.ts')).register],
  },
  {
    commands: { match: 'match files (or URLs) against moderation banks' },
    load: async () => [(await import('./commands/match.ts')).register],
  },
  {
    commands: { oversight: 'an auditor\'s view of lawful access, recomputed from the transparency log' },
    load: async () => [(await import('./commands/oversight.ts')).register],
  },
  {
    commands: { moderation: 'notice and action: transparency reports computed from stored decisions' },
    load: async () => [(await import('./commands/moderation.ts')).register],
  },
  {
    commands: { channel: 'public channels: create, post, read, follow' },
    load: async () => [(await import('./commands/channel.ts')).register],
  },
  {
    commands: { rules: 'keyword and hashtag rules (a rule list is a text bank)', sweep: 'retro-sweeps: published posts checked against a bank’s new signals' },
    load: async () => [(await import('./commands/rules.ts')).register],
  },
  {
    commands: { hub: 'the hash-sharing hub: run it, manage its members, audit it' },
    load: async () => [(await import('./commands/hub.ts')).register],
  },
  {
    commands: { matcher: 'the matcher role (hash banks in memory) in its own process' },
    load: async () => [(await import('@doublelock/matcher/command')).register],
  },
];
