/**
 * `doublelock oversight report|unseal`: the auditor's view of accountable lawful access (issue 5,
 * docs/OVERSIGHT.md). `report` audits the whole transparency log and recomputes, from it alone, every
 * warrant commitment, every custodian release (signatures checked against the pinned trust
 * configuration), per-warrant counts and the public statistics per month. Exit 0: audited, nothing
 * wrong; 2: audited, but some entries are malformed or some release records do not verify (named in
 * the report); 1: bad input, or a log that fails the audit. `unseal` checks that a published warrant
 * commitment opens to a revealed warrant and nonce.
 */
import { FileWitnessState, AuditError } from '@doublelock/log';
import { auditProgressBar, rememberCheckpoint } from '../auditProgress.ts';
import { parseVerifierKey } from '@doublelock/log/verifier';
import { openWarrantCommitment, signedWarrantSchema, warrantSchema, type SignedWarrant, type Warrant } from '@doublelock/lawful-access/warrant';
import { fromBase64Url, toBase64Url } from '@doublelock/protocol';
import type { Command } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { runOversightAudit, type OversightAudit } from '../oversight/audit.ts';
import { statisticsChart } from '../oversight/chart.ts';
import { renderText, reportDocument } from '../oversight/render.ts';
import { checkUnsealed } from '../oversight/unseal.ts';
import { integerOption } from '@doublelock/protocol/cliOptions';

const DEFAULT_STATE = join(homedir(), '.doublelock', 'log-state.json');
/** Exit status when the log audits but holds entries that are malformed or do not verify. */
export const EXIT_PROBLEMS = 2;

function bytes32(name: string) {
  return (value: string): Uint8Array => {
    let decoded: Uint8Array;
    try {
      decoded = fromBase64Url(value);
    } catch {
      throw new Error(`${name} must be base64url, not "${value}"`);
    }
    if (decoded.length !== 32) throw new Error(`${name} must be 32 bytes of base64url, not ${decoded.length}`);
    return decoded;
  };
}

function verifierKey(value: string): string {
  try {
    parseVerifierKey(value);
  } catch (error) {
    throw new Error(`--log-key is not a verifier key (<name>+<key id>+<key>): ${error instanceof Error ? error.message : String(error)}`);
  }
  return value;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

interface AuditCliOptions {
  url: string;
  logKey: string;
  trustRoot?: Uint8Array;
  witnessKey?: string[];
  witnesses: number;
  state: string;
  page: number;
}

interface ReportOptions extends AuditCliOptions {
  json?: boolean;
  chart?: string;
  custodians?: boolean;
}

/** The audit with a progress bar on large logs; remembers the checkpoint for the next audit's consistency check. */
async function audited(options: AuditCliOptions & { custodians?: boolean }): Promise<OversightAudit> {
  const state = new FileWitnessState(options.state);
  const origin = parseVerifierKey(options.logKey).name;
  const seen = (await state.load())[origin];
  const progress = auditProgressBar();
  let audit: OversightAudit;
  try {
    audit = await runOversightAudit({
      url: options.url,
      logKey: options.logKey,
      trustRoot: options.trustRoot && toBase64Url(options.trustRoot),
      witnessKeys: options.witnessKey,
      witnesses: options.witnesses,
      seen,
      pageSize: options.page,
      onProgress: progress.onProgress,
      custodians: options.custodians,
    });
  } catch (error) {
    if (error instanceof AuditError) throw new Error(`AUDIT FAILED: ${error.message}`);
    throw error;
  } finally {
    progress.stop();
  }
  await rememberCheckpoint(state, audit.checkpoint);
  if (audit.trust && !audit.trust.pinned) console.error('warning: no --trust-root: the trust configuration was taken from the server unverified');
  return audit;
}

async function report(options: ReportOptions): Promise<void> {
  const audit = await audited(options);
  if (options.chart) await writeFile(options.chart, statisticsChart(audit.tally.months, `${audit.checkpoint.origin}: lawful access, from the transparency log`));
  if (options.json) process.stdout.write(`${JSON.stringify(reportDocument(audit), null, 2)}\n`);
  else process.stdout.write(renderText(audit));
  if (audit.tally.problems.length > 0) {
    console.error(`oversight: ${audit.tally.problems.length} problem(s) in the log: ${audit.tally.problems.map((p) => `leaf ${p.leafIndex} (${p.kind})`).join(', ')}`);
    process.exitCode = EXIT_PROBLEMS;
  }
  if (audit.unlogged && audit.unlogged.length > 0) {
    console.error(`oversight: ${audit.unlogged.length} release(s) the custodians made are missing from the log`);
    process.exitCode = EXIT_PROBLEMS;
  }
}

async function readWarrant(path: string): Promise<{ warrant: Warrant; signed?: SignedWarrant }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read --warrant ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`--warrant ${path} is not JSON`);
  }
  // Either the signed warrant as issued (warrant, issue, decision) or the bare warrant document.
  const signed = signedWarrantSchema.safeParse(json);
  if (signed.success) return { warrant: signed.data.warrant, signed: signed.data };
  const bare = warrantSchema.safeParse(json);
  if (bare.success) return { warrant: bare.data };
  throw new Error(`--warrant ${path} is not a warrant: ${bare.error.issues.map((i) => `${i.path.join('.') || '/'}: ${i.message}`).join('; ')}`);
}

/** The server and log options; `report` requires them, `unseal` checks the log only when they are given. */
function addAuditOptions(command: Command, required: boolean): Command {
  if (required) {
    command
      .requiredOption('--url <server>', 'base URL of the Doublelock server', process.env.DOUBLELOCK_URL)
      .requiredOption('--log-key <vkey>', "the log's verifier key (<name>+<key id>+<key>)", verifierKey, process.env.DOUBLELOCK_LOG_KEY);
  } else {
    command
      .option('--url <server>', 'base URL of the Doublelock server, to check the warrant against the log')
      .option('--log-key <vkey>', "the log's verifier key (<name>+<key id>+<key>)", verifierKey);
  }
  return command
    .option('--trust-root <b64>', 'the trust-root Ed25519 public key (base64url) the trust configuration must be signed by', bytes32('--trust-root'))
    .option('--witness-key <vkey>', 'a witness verifier key (repeatable)', collect)
    .option('--witnesses <k>', 'require cosignatures from k of the witness keys', integerOption('--witnesses'), 0)
    .option('--state <file>', 'file remembering the last checkpoint seen, per log', DEFAULT_STATE)
    .option('--page <n>', 'entries per request', integerOption('--page'), 1000);
}

type UnsealOptions = Partial<AuditCliOptions> & Omit<AuditCliOptions, 'url' | 'logKey'> & { commitment: Uint8Array; warrant: string; nonce: Uint8Array };

async function unseal(options: UnsealOptions): Promise<void> {
  if ((options.url === undefined) !== (options.logKey === undefined)) throw new Error('checking against the log needs both --url and --log-key');
  const { warrant, signed } = await readWarrant(options.warrant);
  if (!openWarrantCommitment(options.commitment, warrant, options.nonce)) {
    throw new Error('the commitment does NOT open to this warrant and nonce: what was revealed is not what was logged');
  }
  const window = `${new Date(warrant.window.start).toISOString()} – ${new Date(warrant.window.end).toISOString()}`;
  console.log(`the commitment opens to warrant ${warrant.id} revision ${warrant.revision}
  agency:   ${warrant.agency}
  targets:  ${warrant.targets.join(', ')}
  window:   ${window}
  grounds:  ${warrant.grounds.join(', ')}
  products: ${warrant.products.join(', ')}
  limit:    ${warrant.limits.maxMessages} messages${warrant.urgent ? '\n  urgent' : ''}`);
  if (!options.url || !options.logKey) return;
  const audit = await audited({ ...options, url: options.url, logKey: options.logKey });
  const trust = audit.trust?.pinned ? audit.config : null;
  const check = checkUnsealed({ commitment: toBase64Url(options.commitment), warrant, signed, trust, tally: audit.tally });
  console.log(`in the log ${audit.checkpoint.origin} at leaf ${check.leafIndex} (audited, ${audit.checkpoint.size} entries)
  double lock: ${trust ? check.doubleLock : 'not checked: give --trust-root to verify the signatures under the pinned trust configuration'}
  releases:    ${check.releases}
  decrypted:   ${check.messagesDecrypted} of at most ${warrant.limits.maxMessages} messages`);
  if (check.findings.length === 0) {
    console.log('everything the log shows under this warrant is within what it authorised');
    return;
  }
  console.log(`NOT AS AUTHORISED (${check.findings.length}):`);
  for (const f of check.findings) console.log(`  ${f.leafIndex === null ? 'warrant' : `leaf ${f.leafIndex}`}: ${f.detail}`);
  process.exitCode = EXIT_PROBLEMS;
}

export function register(program: Command): void {
  const oversight = program.command('oversight').description("an auditor's view of lawful access, recomputed from the transparency log");

  addAuditOptions(oversight.command('report'), true)
    .description('audit the whole log; list every warrant and release, per-warrant counts and statistics per month')
    .option('--json', 'print one machine-readable JSON document')
    .option('--chart <file.svg>', 'write an SVG chart of warrants and messages decrypted per month')
    .option('--custodians', "also ask each custodian for its own list of releases and flag any the log is missing")
    .action(report);

  addAuditOptions(oversight.command('unseal'), false)
    .description('check that a published warrant commitment opens to a revealed warrant and nonce; with --url and --log-key, hold what the log shows under it against what it authorised')
    .requiredOption('--commitment <b64>', 'the commitment from the log (base64url, 32 bytes)', bytes32('--commitment'))
    .requiredOption('--warrant <file>', 'the revealed warrant: JSON, signed (warrant, issue, decision) or bare')
    .requiredOption('--nonce <b64>', 'the revealed commitment nonce (base64url, 32 bytes)', bytes32('--nonce'))
    .action(unseal);
}
