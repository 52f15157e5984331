/**
 * `doublelock agency …`: the intercepting agency's tools. Every request is signed with the agency key the
 * trust configuration names; nothing here can decrypt without t custodians agreeing, each by itself.
 */
import { generateSigningKey, signedTrustConfigSchema, signedWarrantSchema, verifyEvidenceBundle, type ExportedIntercept, exportedIntercept } from '@doublelock/lawful-access';
import { toBase64Url } from '@doublelock/protocol';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readAgencyKey, readJson, submissionFile, writeJson } from '../agency/files.ts';
import { collectIntercepts, fetchTrust, openIntercepts, submitWarrant, waitForInclusion, warrantInclusion, type BatchOutcome } from '../../../../packages/client/src/agency/workflow.ts';

export function register(program: Command): void {
  const agency = program.command('agency').description('an intercepting agency: submit warrants, collect intercepts, decrypt with custodians');

  agency
    .command('keygen')
    .description('create an agency signing key (its public half goes into the trust configuration)')
    .requiredOption('--id <id>', 'the agency id in the trust configuration, e.g. nca')
    .requiredOption('--out <file>', 'where to write the key (kept secret)')
    .action((options: { id: string; out: string }) => {
      const key = generateSigningKey();
      writeJson(options.out, { id: options.id, secretKey: toBase64Url(key.secretKey) });
      console.log(`agency ${options.id}: public key ${toBase64Url(key.publicKey)} (add it to the trust configuration's agencies)`);
    });

  agency
    .command('submit')
    .description('submit a double-locked warrant to the provider (it is committed to the public log before it takes effect)')
    .requiredOption('--server <url>', 'the provider’s server')
    .requiredOption('--agency-key <file>', 'the agency key file')
    .requiredOption('--warrant <file>', 'the signed warrant (JSON: warrant, issue, decision)')
    .requiredOption('--out <file>', 'where to keep the submission (with the commitment nonce: keep it to unseal later)')
    .option('--witness-timeout-ms <ms>', 'how long to wait for a witnessed checkpoint holding the warrant', (v) => Number(v), 60_000)
    .action(async (options: { server: string; agencyKey: string; warrant: string; out: string; witnessTimeoutMs: number }) => {
      const warrant = readJson(options.warrant, signedWarrantSchema, 'signed warrant');
      const submission = await submitWarrant(options.server, readAgencyKey(options.agencyKey), warrant);
      writeJson(options.out, submission);
      console.log(`warrant ${submission.warrantId} accepted: commitment ${submission.commitment} at log index ${submission.leafIndex}`);
      // The first witnessed checkpoint that holds the warrant is its log-attested time: keep its proof.
      // (The configuration is read only for its witness quorum; the custodians verify the proof themselves.)
      const trust = signedTrustConfigSchema.parse(((await (await fetch(`${options.server}/v1/lawful-access`)).json()) as { trust?: unknown }).trust).config;
      const inclusion = await waitForInclusion(options.server, trust, submission.leafIndex, options.witnessTimeoutMs);
      if (inclusion) {
        writeJson(options.out, { ...submission, inclusion });
        console.log(`witnessed in a checkpoint of size ${inclusion.treeSize}: its proof is kept in ${options.out}`);
      } else console.error('no witnessed checkpoint holds the warrant yet: `agency decrypt` will prove it at the newest one (which starts its window later)');
    });

  agency
    .command('collect')
    .description('download what the provider retained under a warrant (IRI and CC), one JSON object a line')
    .requiredOption('--server <url>', 'the provider’s server')
    .requiredOption('--agency-key <file>', 'the agency key file')
    .requiredOption('--warrant-id <id>', 'the warrant')
    .action(async (options: { server: string; agencyKey: string; warrantId: string }) => {
      const intercepts = await collectIntercepts(options.server, readAgencyKey(options.agencyKey), options.warrantId, (n) => process.stderr.write(`\rcollected ${n}`));
      process.stderr.write(`\rcollected ${intercepts.length} intercept(s)\n`);
      for (const i of intercepts) console.log(JSON.stringify(i));
    });

  agency
    .command('decrypt')
    .description('decrypt collected intercepts with t custodians, checking every proof; writes one evidence bundle per message')
    .requiredOption('--server <url>', 'the provider’s server')
    .requiredOption('--trust-root <key>', 'the pinned trust-root public key (base64url)')
    .requiredOption('--agency-key <file>', 'the agency key file')
    .requiredOption('--warrant <file>', 'the signed warrant')
    .requiredOption('--submission <file>', 'the file `agency submit` wrote')
    .requiredOption('--intercepts <file>', 'the output of `agency collect`')
    .requiredOption('--out <dir>', 'folder for the evidence bundles')
    .option('--json', 'print each decrypted message as JSON')
    .action(async (options: { server: string; trustRoot: string; agencyKey: string; warrant: string; submission: string; intercepts: string; out: string; json?: boolean }) => {
      const agencyKey = readAgencyKey(options.agencyKey);
      const warrant = readJson(options.warrant, signedWarrantSchema, 'signed warrant');
      const submission = readJson(options.submission, submissionFile, 'submission file');
      if (submission.warrantId !== warrant.warrant.id) throw new Error(`the submission is for warrant ${submission.warrantId}, not ${warrant.warrant.id}`);
      const intercepts = readLines(options.intercepts);
      const { signed, trust } = await fetchTrust(options.server, options.trustRoot);
      const inclusion = submission.inclusion ?? (await warrantInclusion(options.server, trust, submission.leafIndex));
      mkdirSync(options.out, { recursive: true });
      // The SDK's batch (as the web console runs it): four messages at once, each checked against the warrant
      // before any custodian is asked, each epoch certificate fetched once. Results print in the file's order.
      const bar = new SingleBar({ format: 'decrypting [{bar}] {value}/{total}', stream: process.stderr, clearOnComplete: true }, Presets.shades_classic);
      const position = new Map(intercepts.map((intercept, i) => [intercept, i]));
      const outcomes: Array<BatchOutcome | undefined> = [];
      let printed = 0;
      let done = 0;
      let failed = 0;
      const report = (outcome: BatchOutcome) => {
        const intercept = outcome.intercept;
        if (!outcome.ok) {
          failed++;
          const message = (outcome.error as Error).message;
          return console.error(message.startsWith(`intercept ${intercept.id} `) ? message : `intercept ${intercept.id}: ${message}`);
        }
        const { content } = outcome.opened;
        const record = intercept.iri!.record;
        const text = content.type === 'text' ? content.text : `[${content.type}]`;
        console.log(options.json ? JSON.stringify({ id: intercept.id, sender: record.sender, recipients: record.recipients, serverTime: record.serverTime, content }) : `${new Date(record.serverTime).toISOString()}  ${record.sender} → ${record.recipients.join(', ')}: ${text}`);
      };
      bar.start(intercepts.length, 0);
      await openIntercepts({ signedTrust: signed, trust, agency: agencyKey, warrant, commitmentNonce: submission.commitmentNonce, inclusion }, intercepts, {
        result: (outcome) => {
          // (a bundle that cannot be written fails its message alone: openIntercepts reports it again, failed)
          if (outcome.ok) writeEvidence(join(options.out, `evidence-${outcome.intercept.id}.json`), outcome);
          outcomes[position.get(outcome.intercept)!] = outcome;
          done++;
          if (outcomes[printed]) {
            bar.stop(); // (cleared) so the lines below are not drawn over
            while (outcomes[printed]) report(outcomes[printed++]!);
            bar.start(intercepts.length, done);
          } else bar.update(done);
        },
      });
      bar.stop();
      console.error(`decrypted ${intercepts.length - failed} of ${intercepts.length} intercept(s)`);
      if (failed > 0) throw new Error(`${failed} of ${intercepts.length} intercept(s) could not be decrypted`);
    });

  agency
    .command('verify-evidence')
    .description('check an evidence bundle from the trust root alone: warrant, log inclusion, delivery record, shares and proofs')
    .argument('<bundle>', 'an evidence bundle file')
    .requiredOption('--trust-root <key>', 'the pinned trust-root public key (base64url)')
    .action((bundle: string, options: { trustRoot: string }) => {
      const key = verifyEvidenceBundle(readJson(bundle, z.unknown(), 'evidence bundle'), options.trustRoot);
      console.log(`evidence verified: content key ${toBase64Url(key)}`);
    });
}

function writeEvidence(path: string, outcome: BatchOutcome & { ok: true }): void {
  try {
    writeJson(path, outcome.opened.evidence);
  } catch (error) {
    throw new Error(`intercept ${outcome.intercept.id}: decrypted, but its evidence bundle could not be written (${(error as Error).message})`);
  }
}

function readLines(path: string): ExportedIntercept[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const parsed = exportedIntercept.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`${path}:${i + 1} is not an intercept: ${parsed.error.issues[0]?.message}`);
      return parsed.data;
    });
}
