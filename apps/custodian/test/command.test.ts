/** The CLI: `custodian init` creates keys once and prints their public halves; `serve` refuses a trust configuration it cannot verify. */
import { generateSigningKey } from '@doublelock/lawful-access';
import { LawfulAccessWorld } from '@doublelock/lawful-access/testing';
import { toBase64Url } from '@doublelock/protocol';
import { Command } from 'commander';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { register } from '../src/command.ts';

const dir = mkdtempSync(join(tmpdir(), 'dl-custodian-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  register(program);
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...values: unknown[]) => void lines.push(values.join(' ')));
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}

describe('doublelock custodian', () => {
  it('init creates private keys once (mode 0600) and prints the public keys', async () => {
    const data = join(dir, 'c1');
    const first = JSON.parse(await cli(['custodian', 'init', '--data', data])) as { created: boolean; staticKey: string; signingKey: string };
    expect(first.created).toBe(true);
    expect(first.staticKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(join(data, 'custodian-keys.json')).mode & 0o777).toBe(0o600);
    const second = JSON.parse(await cli(['custodian', 'init', '--data', data])) as { created: boolean; staticKey: string };
    expect(second).toMatchObject({ created: false, staticKey: first.staticKey });
  });

  it('serve refuses a trust configuration that does not verify under the pinned root', async () => {
    const world = await LawfulAccessWorld.create({ threshold: 2, custodians: 3 });
    try {
      const trustFile = join(dir, 'trust.json');
      writeFileSync(trustFile, JSON.stringify(world.signedTrust));
      const wrongRoot = toBase64Url(generateSigningKey().publicKey);
      await expect(cli(['custodian', 'serve', '--data', join(dir, 'c1'), '--trust', trustFile, '--trust-root', wrongRoot, '--log', 'http://127.0.0.1:9', '--port', '0'])).rejects.toThrow(/pinned root key/);
      // the right root, but this folder's keys are not a custodian in the configuration
      await expect(cli(['custodian', 'serve', '--data', join(dir, 'c1'), '--trust', trustFile, '--trust-root', toBase64Url(world.root.publicKey), '--log', 'http://127.0.0.1:9', '--port', '0'])).rejects.toThrow(/not in the trust configuration/);
      // an operator key that is not an Ed25519 public key
      await expect(cli(['custodian', 'serve', '--data', join(dir, 'c1'), '--trust', trustFile, '--trust-root', toBase64Url(world.root.publicKey), '--log', 'http://127.0.0.1:9', '--operator-key', 'AAAA'])).rejects.toThrow(/32-byte Ed25519 public key/);
    } finally {
      await world.close();
    }
  });
});
