/**
 * `doublelock witness keygen|cosign`: a witness run from the command line (e.g. every minute from
 * cron). `cosign` fetches the log's latest checkpoint and a consistency proof from the last checkpoint
 * it cosigned, checks both (refusing a split view loudly), records the new checkpoint in its state
 * file, and posts its cosignature to the log's POST /v1/log/cosignatures.
 */
import { FileWitnessState, generateSignerKey, LogHttpClient, CosignatureSigner, Witness } from '@doublelock/log';
import { parseCheckpoint, parseNote, SIGNATURE_COSIGNATURE_V1 } from '@doublelock/log/verifier';
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';

export interface CosignOptions {
  logUrl: string;
  logKey: string;
  keyFile: string;
  state: string;
}

/** One witnessing round; returns what was cosigned. Throws (SplitViewError…) when it must refuse. */
export async function witnessCosign(options: CosignOptions): Promise<{ origin: string; size: number; accepted: string[] }> {
  const signerKey = (await readFile(options.keyFile, 'utf8')).trim();
  const witness = new Witness({ signerKey, logs: [options.logKey], state: new FileWitnessState(options.state) });
  const client = new LogHttpClient(options.logUrl);
  const note = await client.checkpoint();
  const { origin, size } = parseCheckpoint(parseNote(note).text);
  const seen = await witness.lastSeen(origin);
  const proof = seen && seen.size > 0 && size > seen.size ? await client.consistencyProof(seen.size, size) : [];
  const cosigned = await witness.cosign(note, proof);
  const { accepted } = await client.postCosignature(cosigned.note);
  return { origin, size, accepted };
}

export function register(program: Command): void {
  const witness = program.command('witness').description('witness a transparency log: check consistency, then cosign');

  witness
    .command('keygen')
    .description('generate a witness key (cosignature/v1, Ed25519)')
    .requiredOption('--name <name>', 'witness name, e.g. witness.example.org/w1')
    .action((options: { name: string }) => {
      const key = generateSignerKey(options.name, SIGNATURE_COSIGNATURE_V1);
      console.log(`signer key (save to the --key-file, keep secret): ${key}\nverifier key (give to logs and clients): ${new CosignatureSigner(key).verifierKey}`);
    });

  witness
    .command('cosign')
    .description("fetch the log's checkpoint, verify consistency with the last one cosigned, cosign and post it back")
    .requiredOption('--log-url <url>', 'base URL of the log server')
    .requiredOption('--log-key <vkey>', "the log's verifier key (<name>+<key id>+<key>)")
    .requiredOption('--key-file <file>', "file holding the witness's signer key (PRIVATE+KEY+…)")
    .requiredOption('--state <file>', 'witness state file (last checkpoint cosigned per log)')
    .action(async (options: CosignOptions) => {
      const result = await witnessCosign(options);
      console.log(`cosigned ${result.origin} at size ${result.size}; the log accepted it from ${result.accepted.join(', ')}`);
    });
}
