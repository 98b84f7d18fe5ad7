import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  JOB_SOURCES,
  JOB_STATUSES,
  type Job,
  type JobSource,
  type JobStatus,
  type SubmitRequest,
} from './api-types.js';
import { CliError, usageError } from './cli-error.js';
import type { CliIo } from './cli-io.js';
import { exitCodeForStatus, ExitCode } from './exit-codes.js';
import { FleetClient } from './fleet-client.js';
import { firstLine, maxPfxBytes, readOptionFile, readPassword, readPfxFile } from './password.js';
import { checkProgress, exitCodeForCheck, renderCheck } from './render-check.js';
import { renderDoctor } from './render-doctor.js';
import { renderJobSummary } from './render-job.js';
import {
  renderAudit,
  renderEnvironments,
  renderExpiry,
  renderJobList,
  renderRepairsNeeded,
} from './render-lists.js';
import { clean } from './table.js';
import { watchJob } from './watch.js';

/** Where the API listens by default (API.md: HOST, PORT). */
export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** What the program's actions leave behind for the caller. */
export interface Outcome {
  exitCode: number;
}

interface CommonOptions {
  url?: string;
  token?: string;
  tokenFile?: string;
  json?: boolean;
}

interface WatchOption extends CommonOptions {
  watch?: boolean;
}

interface SubmitOptions extends WatchOption {
  pfx: string;
  ca?: string[];
  env: string[];
  name: string;
  ticket: string;
  normalize: boolean;
  replace?: boolean;
  rollout?: 'all' | 'canary';
  notifyWebhook?: string;
  notifySlack?: string;
  notifyEmail?: string[];
  passwordStdin?: boolean;
  passwordFile?: string;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

const collectList = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
];

function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(`it must be a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

/** The API's base URL and token from the options, else the environment. */
export async function resolveConnection(
  opts: CommonOptions,
  env: CliIo['env'],
): Promise<{ url: string; token: string }> {
  const url = opts.url ?? env['CERTFLEET_URL'] ?? DEFAULT_URL;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw usageError(
      `${opts.url ? '--url' : 'CERTFLEET_URL'} must be an http:// or https:// URL, got '${url}'`,
    );
  }
  const token =
    opts.token ??
    (opts.tokenFile === undefined
      ? env['CERTFLEET_TOKEN']
      : firstLine((await readOptionFile(opts.tokenFile, '--token-file')).toString('utf8')).trim());
  if (!token) {
    throw usageError(
      opts.tokenFile === undefined
        ? 'no token: set CERTFLEET_TOKEN or use --token-file FILE'
        : `--token-file ${opts.tokenFile} is empty`,
    );
  }
  return { url, token };
}

/** Reads a CA certificate file: PEM text as it is, anything else (DER) as base64. */
async function readCaFile(file: string): Promise<string> {
  const bytes = await readOptionFile(file, '--ca');
  const text = bytes.toString('utf8');
  return text.includes('-----BEGIN') ? text : bytes.toString('base64');
}

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const examples = (...lines: string[]): string => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;

/**
 * Builds `fleetctl`: every command writes through `io` and leaves its exit code
 * in `outcome`; nothing here touches `process`, so tests run it in-process.
 */
export function buildProgram(io: CliIo, outcome: Outcome = { exitCode: ExitCode.Ok }): Command {
  const write = (lines: readonly string[]): void => {
    io.stdout.write(`${lines.join('\n')}\n`);
  };
  const printJson = (value: unknown): void => {
    io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  };
  const connect = async (opts: CommonOptions): Promise<FleetClient> =>
    new FleetClient({ ...(await resolveConnection(opts, io.env)), ...(io.fetch ? { fetch: io.fetch } : {}) });
  const now = (): Date => (io.now ? io.now() : new Date());

  /** Follows a job to its end; the exit code is its final status's. */
  const follow = async (
    client: FleetClient,
    first: Job | undefined,
    id: string,
    json: boolean,
  ): Promise<void> => {
    const final = await watchJob({
      fetchJob: () => client.getJob(id),
      ...(first ? { first } : {}),
      out: io.stdout,
      isTTY: io.isTTY,
      quiet: json,
      ...(io.pollIntervalMs === undefined ? {} : { intervalMs: io.pollIntervalMs }),
      ...(io.sleep ? { sleep: io.sleep } : {}),
      ...(io.now ? { now: io.now } : {}),
    });
    if (json) printJson(final);
    outcome.exitCode = exitCodeForStatus(final.status);
  };

  /**
   * The action of a command that sends a job on as a new round (retry, continue): follows it
   * with --watch, prints it with --json, else says what was queued (`says`, given the count).
   */
  const newRound =
    (send: (client: FleetClient, id: string) => Promise<Job>, says: (job: Job, queued: number) => string) =>
    async (id: string, opts: WatchOption): Promise<void> => {
      const client = await connect(opts);
      const job = await send(client, id);
      if (opts.watch) return follow(client, job, id, opts.json === true);
      if (opts.json) return printJson(job);
      const queued = job.targets.filter((t) => t.status === 'pending' && t.round === job.round).length;
      write([says(job, queued), `follow it: fleetctl status ${job.id} --watch`]);
    };

  const configure = (cmd: Command): Command =>
    cmd.configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // Commander's usage errors, as one line like every other fleetctl error.
      outputError: (s, writeErr) => {
        const where = cmd.parent ? `fleetctl ${cmd.name()}` : 'fleetctl';
        writeErr(`fleetctl: usage: ${clean(s.replace(/^error: /, ''))} (see ${where} --help)\n`);
      },
      getOutHelpWidth: () => Math.min(io.stdout.columns ?? 100, 100),
      getErrHelpWidth: () => Math.min(io.stderr.columns ?? 100, 100),
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    });

  const command = (name: string): Command => configure(program.command(name));

  /** Added to every command last, so that its own options come first in its help. */
  const addCommonOptions = (cmd: Command): Command =>
    cmd
      .option('--json', "print the API's JSON only (with --watch: the final job)")
      .addOption(
        new Option(
          '--url <url>',
          `the certfleet API (default: $CERTFLEET_URL, else ${DEFAULT_URL})`,
        ).helpGroup('Connection:'),
      )
      .addOption(
        new Option('--token-file <file>', 'read the bearer token from this file (default: $CERTFLEET_TOKEN)')
          .helpGroup('Connection:')
          .conflicts('token'),
      )
      .addOption(
        new Option(
          '--token <token>',
          'the bearer token; discouraged: other users see it in ps, use $CERTFLEET_TOKEN or --token-file',
        ).helpGroup('Connection:'),
      );

  const program = configure(new Command('fleetctl'))
    .description(
      'fleetctl: the certfleet operator CLI. Submit a client certificate, approve it, follow it onto every front-end.\n\n' +
        'Server and token: CERTFLEET_URL and CERTFLEET_TOKEN (or --url, --token-file).\n' +
        'Exit codes: 0 completed (or success), 2 partially_failed, 3 failed, 4 rejected, 1 usage, connection or API error;\n' +
        'doctor: 5 a check failed; check: 6 a certificate missing or different, 7 a front-end unreachable.',
    )
    .version(readVersion(), '-V, --version')
    .exitOverride()
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      examples(
        'export CERTFLEET_URL=https://certfleet.internal CERTFLEET_TOKEN=$(cat ~/.certfleet-token)',
        'fleetctl submit --pfx client.pfx --ca root.cer --env acme-prd --env acme-qa --name acme-payments-client --ticket CASE-123456 --watch',
        'fleetctl approve <id>',
        'fleetctl jobs --status pending_approval',
      ),
    );

  command('submit')
    .summary('submit a certificate: checked now, installed on every front-end once someone else approves')
    .description(
      'Submits a .pfx (with its CA certificates) for the named environments. The API checks it at once and\n' +
        'the job waits for approval by another person. The password is asked without echo on a terminal,\n' +
        'or read from --password-stdin / --password-file; it is never an argument.',
    )
    .requiredOption('--pfx <file>', 'the .pfx / .p12 file')
    .option('--ca <file>', 'a root or intermediate CA certificate, PEM or DER (repeatable)', collect)
    .requiredOption(
      '--env <name>',
      'an environment to install in (repeatable, or comma-separated)',
      collectList,
    )
    .requiredOption('--name <name>', 'the file name on the hosts: <installDir>/<name>.pfx')
    .requiredOption('--ticket <id>', 'the ticket or case the job belongs to')
    .option('--no-normalize', 'refuse an AES/PBES2 PFX instead of re-encoding it as TripleDES-SHA1')
    .option('--replace', 'rotate: replace another certificate already installed under this name')
    .addOption(
      new Option(
        '--rollout <how>',
        "canary: one front-end per environment first (default: each environment's rollout)",
      ).choices(['all', 'canary']),
    )
    .option('--notify-webhook <url>', 'also send the signed report to this URL when the job ends')
    .option('--notify-slack <url>', 'also post the report to this Slack-compatible incoming webhook')
    .option('--notify-email <address>', 'also e-mail the report to this address (repeatable)', collect)
    .addOption(
      new Option('--password-stdin', 'read the PFX password from the first line of stdin')
        .helpGroup('Password (default: a prompt without echo):')
        .conflicts('passwordFile'),
    )
    .addOption(
      new Option(
        '--password-file <file>',
        'read the PFX password from the first line of this file',
      ).helpGroup('Password (default: a prompt without echo):'),
    )
    .option('--watch', 'follow the job until it ends; the exit code is its final status')
    .addHelpText(
      'after',
      examples(
        'fleetctl submit --pfx client.pfx --ca root.cer --env acme-prd,acme-qa --name acme-payments-client --ticket CASE-123456',
        'pass show customers/acme | fleetctl submit --password-stdin --pfx client.pfx --env acme-prd --name acme-payments-client --ticket CASE-123456 --json',
        'fleetctl submit --password-file pw.txt --pfx new.pfx --env acme-prd --name acme-payments-client --ticket CASE-123457 --replace --watch',
      ),
    )
    .action(async (opts: SubmitOptions) => {
      const client = await connect(opts);
      const pfx = await readPfxFile(opts.pfx, maxPfxBytes(io.env));
      const caCertificates = await Promise.all((opts.ca ?? []).map(readCaFile));
      if (opts.env.length === 0) throw usageError('--env: give at least one environment name');
      const password = await readPassword(opts, io.stdin, io.stderr);
      const notify = {
        ...(opts.notifyWebhook ? { webhookUrl: opts.notifyWebhook } : {}),
        ...(opts.notifySlack ? { slackUrl: opts.notifySlack } : {}),
        ...(opts.notifyEmail ? { email: opts.notifyEmail } : {}),
      };
      const body: SubmitRequest = {
        ticket: opts.ticket,
        name: opts.name,
        environments: [...new Set(opts.env)],
        pfx: pfx.toString('base64'),
        password,
        normalize: opts.normalize,
        ...(caCertificates.length > 0 ? { caCertificates } : {}),
        ...(opts.replace ? { replace: true } : {}),
        ...(opts.rollout ? { rollout: opts.rollout } : {}),
        ...(Object.keys(notify).length > 0 ? { notify } : {}),
      };
      const job = await client.submit(body);
      if (opts.watch) return follow(client, job, job.id, opts.json === true);
      if (opts.json) printJson(job);
      else write(renderJobSummary(job, now()));
    });

  command('approve')
    .summary('approve a pending job (not your own): its targets are queued')
    .argument('<id>', 'the job id')
    .option('--watch', 'then follow the job until it ends; the exit code is its final status')
    .addHelpText(
      'after',
      examples('fleetctl approve lq2x9k-3f9a0c2b1d4e5f60', 'fleetctl approve <id> --watch'),
    )
    .action(async (id: string, opts: WatchOption) => {
      const client = await connect(opts);
      const job = await client.approve(id);
      if (opts.watch) return follow(client, job, id, opts.json === true);
      if (opts.json) return printJson(job);
      write([
        `job ${job.id} approved by ${job.approvedBy ?? '?'}: ${job.status}, ${job.targets.length} targets`,
        `follow it: fleetctl status ${job.id} --watch`,
      ]);
    });

  command('reject')
    .summary('reject a pending job, with a reason')
    .argument('<id>', 'the job id')
    .requiredOption('--reason <text>', 'why (recorded in the audit log and shown to the submitter)')
    .addHelpText('after', examples('fleetctl reject <id> --reason "wrong customer environment"'))
    .action(async (id: string, opts: CommonOptions & { reason: string }) => {
      const client = await connect(opts);
      const job = await client.reject(id, opts.reason);
      if (opts.json) return printJson(job);
      write([
        clean(`job ${job.id} rejected by ${job.rejectedBy ?? '?'}: ${job.rejectReason ?? opts.reason}`),
      ]);
    });

  command('status')
    .summary('show a job: certificate, paths and every target; the exit code follows its status')
    .argument('<id>', 'the job id')
    .option(
      '--watch',
      'follow the job until it ends (a live table on a terminal, one line per change otherwise)',
    )
    .addHelpText(
      'after',
      examples(
        'fleetctl status <id>',
        'fleetctl status <id> --watch',
        'fleetctl status <id> --json | jq .paths',
      ),
    )
    .action(async (id: string, opts: WatchOption) => {
      const client = await connect(opts);
      if (opts.watch) return follow(client, undefined, id, opts.json === true);
      const job = await client.getJob(id);
      if (opts.json) printJson(job);
      else write(renderJobSummary(job, now()));
      outcome.exitCode = exitCodeForStatus(job.status);
    });

  command('jobs')
    .summary('list jobs, newest first')
    .addOption(new Option('--status <status>', 'only jobs in this status').choices(JOB_STATUSES))
    .option('--ticket <id>', 'only jobs of this ticket')
    .addOption(
      new Option('--source <source>', 'only jobs from this source (reconcile: the repair jobs)').choices(
        JOB_SOURCES,
      ),
    )
    .option('--limit <n>', 'at most this many (1 to 200)', wholeNumber(1, 200), 50)
    .option('--cursor <cursor>', 'the next page, as printed after the list')
    .addHelpText(
      'after',
      examples(
        'fleetctl jobs --status pending_approval',
        'fleetctl jobs --ticket CASE-123456 --json',
        'fleetctl jobs --source reconcile',
      ),
    )
    .action(
      async (
        opts: CommonOptions & {
          status?: JobStatus;
          ticket?: string;
          source?: JobSource;
          limit: number;
          cursor?: string;
        },
      ) => {
        const client = await connect(opts);
        const list = await client.listJobs({
          limit: opts.limit,
          ...(opts.status ? { status: opts.status } : {}),
          ...(opts.ticket ? { ticket: opts.ticket } : {}),
          ...(opts.source ? { source: opts.source } : {}),
          ...(opts.cursor ? { cursor: opts.cursor } : {}),
        });
        if (opts.json) printJson(list);
        else write(renderJobList(list));
      },
    );

  command('retry')
    .summary('queue the failed targets of a partially_failed or failed job again')
    .argument('<id>', 'the job id')
    .option('--watch', 'then follow the job until it ends; the exit code is its final status')
    .addHelpText('after', examples('fleetctl retry <id> --watch'))
    .action(
      newRound(
        (client, id) => client.retry(id),
        (job, queued) =>
          `job ${job.id} ${job.status}: round ${job.round}, ${queued} failed targets queued again`,
      ),
    );

  // canary rollout (README: Canary rollout)
  command('continue')
    .summary('continue a job resting in canary (not your own): the other front-ends are queued')
    .argument('<id>', 'the job id')
    .option('--watch', 'then follow the job until it ends; the exit code is its final status')
    .addHelpText('after', examples('fleetctl continue <id>', 'fleetctl continue <id> --watch'))
    .action(
      newRound(
        (client, id) => client.continue(id),
        (job, queued) =>
          `job ${job.id} continued by ${job.canary?.continuedBy ?? '?'}: ${job.status}, round ${job.round}, ${queued} targets queued`,
      ),
    );

  command('rollback')
    .summary('ask for a rollback of a certificate to its previous version: a job another person approves')
    .argument('<env>', 'the environment')
    .argument('<name>', 'the certificate name')
    .addHelpText('after', examples('fleetctl rollback acme-prd acme-client', 'fleetctl approve <id> --watch'))
    .action(async (env: string, name: string, opts: CommonOptions) => {
      const client = await connect(opts);
      const job = await client.rollback(env, name);
      if (opts.json) return printJson(job);
      write([
        clean(`job ${job.id} ${job.status}: rollback of ${job.name} in ${env} to ${job.certificate.subject}`),
        `another approver approves it: fleetctl approve ${job.id} --watch`,
      ]);
    });

  command('envs')
    .summary('list the environments, their front-ends and the certificates installed there')
    .addHelpText('after', examples('fleetctl envs', 'fleetctl envs --json'))
    .action(async (opts: CommonOptions) => {
      const client = await connect(opts);
      const envs = await client.environments();
      if (opts.json) printJson(envs);
      else write(renderEnvironments(envs));
    });

  // Keeping environments right: the expiry watch and reconcile on demand
  command('expiry')
    .summary(
      'list the installed certificates by expiry, soonest first; --check runs the expiry watch now (admin)',
    )
    .description(
      'Prints every certificate of every environment with its notAfter and whole days left, soonest first.\n' +
        'With --check, first asks the API to run the expiry watch now (role admin): every certificate past a\n' +
        'FLEET_EXPIRY_WARN_DAYS threshold whose warning was not sent yet gets its report, never twice.',
    )
    .option(
      '--within <days>',
      'only those that expire within this many days (0 to 3650)',
      wholeNumber(0, 3650),
    )
    .option('--check', 'run the expiry watch now (role admin)')
    .addHelpText(
      'after',
      examples('fleetctl expiry', 'fleetctl expiry --within 30', 'fleetctl expiry --check --json'),
    )
    .action(async (opts: CommonOptions & { within?: number; check?: boolean }) => {
      const client = await connect(opts);
      const run = opts.check ? await client.expiryCheck() : undefined;
      const envs = await client.environments();
      if (opts.json) return printJson(run ? { watch: run, environments: envs } : envs);
      if (run) io.stderr.write(`expiry watch ${run.id} queued: its reports go to the configured sinks\n`);
      write(renderExpiry(envs, io.now?.() ?? new Date(), opts.within));
    });

  command('reconcile')
    .summary('compare every environment with its certificates now and ask for the repairs (admin)')
    .description(
      'Queues a reconcile run (role admin): every front-end that lacks a certificate of its environment gets a\n' +
        'repair job (fleetctl jobs --source reconcile). Then lists the repairs that wait for a new submission\n' +
        'because no secret is kept. --needed lists those only, without running (operator or approver).',
    )
    .option('--needed', 'only list the repairs that wait for a new submission; start nothing')
    .addHelpText('after', examples('fleetctl reconcile', 'fleetctl reconcile --needed --json'))
    .action(async (opts: CommonOptions & { needed?: boolean }) => {
      const client = await connect(opts);
      const run = opts.needed ? undefined : await client.reconcile();
      const needed = await client.repairsNeeded();
      if (opts.json) return printJson(run ? { reconcile: run, ...needed } : needed);
      if (run) {
        io.stderr.write(
          `reconcile ${run.id} queued; the repair jobs it makes: fleetctl jobs --source reconcile\n`,
        );
      }
      write(renderRepairsNeeded(needed));
    });

  command('doctor')
    .summary('check every front-end of an environment without changing anything (role approver)')
    .argument('<environment>', 'the environment, as in the inventory')
    .addHelpText(
      'after',
      examples('fleetctl doctor acme-stg', 'fleetctl doctor acme-stg --json') +
        '\nExit code 0 when every check passed, 5 when one failed.\n',
    )
    .action(async (environment: string, opts: CommonOptions) => {
      const client = await connect(opts);
      const report = await client.doctor(environment);
      if (opts.json) printJson(report);
      else write(renderDoctor(report));
      outcome.exitCode = report.ok ? ExitCode.Ok : ExitCode.DoctorFailed;
    });

  command('check')
    .summary('drift check: is every certificate still as installed on every front-end? (role approver)')
    .description(
      'Starts a drift check of the environment (or joins the one running), shows hosts done / total while it\n' +
        'runs, then prints a row per front-end and certificate: ok, missing, different or unreachable. Nothing\n' +
        'is changed on the hosts.',
    )
    .argument('<environment>', 'the environment, as in the inventory')
    .addHelpText(
      'after',
      examples('fleetctl check acme-prd', 'fleetctl check acme-prd --json') +
        '\nExit code 0 when everything is ok, 6 when a certificate is missing or different somewhere,\n' +
        '7 when nothing is missing or different but a front-end could not be looked at.\n',
    )
    .action(async (environment: string, opts: CommonOptions) => {
      const client = await connect(opts);
      await client.startCheck(environment);
      const sleep = io.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
      let shown = '';
      for (;;) {
        const check = await client.latestCheck(environment);
        const progress = checkProgress(check);
        if (!opts.json && progress !== shown) io.stderr.write(`${progress}\n`);
        shown = progress;
        // a newer check than ours can only have started after ours finished
        if (check.status === 'done') {
          if (opts.json) printJson(check);
          else write(renderCheck(check));
          outcome.exitCode = exitCodeForCheck(check);
          return;
        }
        await sleep(io.pollIntervalMs ?? 500);
      }
    });

  command('audit')
    .summary("show a job's audit trail: who submitted, approved, rejected, retried; what was installed")
    .argument('<id>', 'the job id')
    .addHelpText('after', examples('fleetctl audit <id>', 'fleetctl audit <id> --json'))
    .action(async (id: string, opts: CommonOptions) => {
      const client = await connect(opts);
      const { items } = await client.audit(id);
      if (opts.json) printJson({ items });
      else write(renderAudit(items));
    });

  // Maintenance windows (README: Maintenance windows)
  command('start-now')
    .summary('start a job scheduled for its maintenance window at once (admin), with a reason')
    .argument('<id>', 'the job id')
    .requiredOption('--reason <text>', 'why it cannot wait for the window (recorded in the audit log)')
    .option('--watch', 'then follow the job until it ends; the exit code is its final status')
    .addHelpText('after', examples('fleetctl start-now <id> --reason "outage: CASE-123456" --watch'))
    .action(async (id: string, opts: WatchOption & { reason: string }) => {
      const client = await connect(opts);
      const job = await client.startNow(id, opts.reason);
      if (opts.watch) return follow(client, job, id, opts.json === true);
      if (opts.json) return printJson(job);
      write([
        `job ${job.id} started now, outside its window: ${job.status}`,
        `follow it: fleetctl status ${job.id} --watch`,
      ]);
    });

  command('uninstall')
    .summary('remove a certificate from every front-end of an environment, once someone else approves')
    .argument('<env>', 'the environment')
    .argument('<name>', 'the certificate name, as installed')
    .option('--watch', 'then follow the job until it ends; the exit code is its final status')
    .addHelpText('after', examples('fleetctl uninstall acme-prd acme-payments-client'))
    .action(async (env: string, name: string, opts: WatchOption) => {
      const client = await connect(opts);
      const job = await client.uninstall(env, name);
      if (opts.watch) return follow(client, job, job.id, opts.json === true);
      if (opts.json) return printJson(job);
      write([
        `job ${job.id} ${job.status}: uninstall ${job.name} from ${job.targets.length} front-ends of ${env}`,
        `approve it (another person): fleetctl approve ${job.id}`,
      ]);
    });

  for (const cmd of program.commands) addCommonOptions(cmd);
  return program;
}

/** Runs fleetctl with `argv` (without node and script); resolves with the exit code, never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const outcome: Outcome = { exitCode: ExitCode.Ok };
  try {
    await buildProgram(io, outcome).parseAsync([...argv], { from: 'user' });
    return outcome.exitCode;
  } catch (err) {
    // Commander has already printed its help or its one-line usage error.
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      io.stderr.write(`fleetctl: ${clean(err.describe())}\n`);
      return err.exitCode;
    }
    io.stderr.write(`fleetctl: internal: ${clean(err instanceof Error ? err.message : String(err))}\n`);
    return ExitCode.Error;
  }
}
