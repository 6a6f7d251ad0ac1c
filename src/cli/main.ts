#!/usr/bin/env -S node --max-semi-space-size=2
import { setMaxListeners } from 'node:events';
import { CommanderError } from 'commander';
import { describeError, InternalError, UsageError, UserError } from '../errors.js';
import { stopProgress } from './context.js';
import { makeProgram } from './make-program.js';
import { sanitize } from './render/sanitize.js';

/**
 * The `sealer` command. This file is the only place that reads argv, handles process signals,
 * sets the exit code and turns errors into messages: a UserError prints its chain of causes
 * (exit 1), a UsageError adds the usage (exit 2), anything else is a bug (exit 70, stack shown
 * with --debug).
 */

/** Exit codes for a stop by signal (128 + the signal's number, as shells report it). */
const SIGNAL_EXIT = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof SIGNAL_EXIT;

/** The reason the operation was aborted with: sealer got a signal. */
class Interrupted extends Error {
  override name = 'Interrupted';
  constructor(readonly by: StopSignal) {
    super(`interrupted by ${by}`);
  }
}

// One controller for the whole command: its signal reaches every child process, remote command
// and request, which stop and remove their temp files; a second signal exits at once.
const interrupt = new AbortController();
setMaxListeners(0, interrupt.signal);
let stoppedBy: StopSignal | undefined;
for (const sig of Object.keys(SIGNAL_EXIT) as StopSignal[]) {
  process.on(sig, () => {
    if (stoppedBy !== undefined) {
      stopProgress();
      process.exit(SIGNAL_EXIT[sig]);
    }
    stoppedBy = sig;
    if (process.stderr.isTTY) process.stderr.write(`\nsealer: ${sig}, stopping (again to exit at once)\n`);
    interrupt.abort(new Interrupted(sig));
  });
}

const program = await makeProgram(interrupt.signal, process.argv);

// Nothing sealer writes under its data root may be group- or world-writable, whatever umask
// it was started with (docker's daemon does the same): root later deploys from that store.
process.umask(0o022);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  stopProgress();
  if (stoppedBy === undefined) process.exitCode = report(err);
  else if (process.argv.includes('--debug') || process.argv.includes('-d')) process.stderr.write(`${describeError(err)}\n`);
} finally {
  stopProgress();
}
if (stoppedBy !== undefined) {
  // Cleanup is done (the command has returned); exit even if a connection still lingers.
  process.stderr.write(`Error: interrupted by ${stoppedBy}\n`);
  process.exit(SIGNAL_EXIT[stoppedBy]);
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    return err.exitCode === 0 ? 0 : 2;
  }
  const debug = process.argv.includes('--debug') || process.argv.includes('-d');
  const message = sanitize(describeError(err), { keepLines: true }); // messages quote input
  if (err instanceof UsageError) {
    process.stderr.write(`Error: ${message}\n${err.usage ? `Usage: ${err.usage}\n` : ''}`);
    return 2;
  }
  if (err instanceof UserError || isUserCause(err)) {
    process.stderr.write(`Error: ${message}\n`);
    if (debug && err instanceof Error) process.stderr.write(`${sanitize(err.stack ?? '', { keepLines: true })}\n`);
    return 1;
  }
  const kind = err instanceof InternalError ? 'internal error' : 'unexpected error';
  process.stderr.write(`Error (${kind}): ${message}\n`);
  if (debug && err instanceof Error) process.stderr.write(`${sanitize(err.stack ?? '', { keepLines: true })}\n`);
  else process.stderr.write('This may be a bug in sealer; run again with --debug for details.\n');
  return 70;
}

/** Errors from libraries (I/O, network) wrapped with context count as the user's to act on. */
function isUserCause(err: unknown): boolean {
  let cur: unknown = err;
  for (let i = 0; cur instanceof Error && i < 10; i++, cur = cur.cause) {
    if (cur instanceof UserError) return true;
    const code = (cur as NodeJS.ErrnoException).code;
    if (code && /^E[A-Z]+$/.test(code)) return true;
  }
  return false;
}
