import { type ChildProcess, spawn } from 'node:child_process';
import { killProcessGroup } from '../process-group.js';
import { CommandHost } from './command-host.js';
import { CommandFailedError } from './errors.js';
import type { Command, ExecOptions, ExecResult, Host, RawExecResult } from './host.js';
import { isReadable, OutputCollector } from './output.js';
import { describeCommand, wrapCommand } from './shell.js';

/**
 * The machine sealer runs on. An argv without env runs directly (no shell); anything else runs
 * through `sh -c` with the same wrapping as over SSH, so both hosts behave alike.
 */
export class LocalHost extends CommandHost implements Host {
  readonly name = 'local';

  async exec(command: Command, opts: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.execRaw(command, opts);
    return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr };
  }

  execRaw(command: Command, opts: ExecOptions = {}): Promise<RawExecResult> {
    const hasEnv = opts.env !== undefined && Object.keys(opts.env).length > 0;
    const direct = typeof command !== 'string' && !hasEnv && command.length > 0;
    const [file, ...args] = direct ? (command as readonly string[]) : ['sh', '-c', wrapCommand(command, opts.env)];
    return new Promise<RawExecResult>((resolve, reject) => {
      if (opts.signal?.aborted) return reject(opts.signal.reason);
      // Its own process group, so an abort kills the command and everything it started.
      const child = spawn(file ?? 'sh', args, {
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
      });
      const out = new OutputCollector(opts.onOutput, undefined, opts.keepStdout ?? true);
      let failure: unknown;
      const onAbort = (): void => {
        failure ??= opts.signal?.reason ?? new Error('aborted');
        killGroup(child);
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (c: Buffer) => out.stdout(c));
      child.stderr.on('data', (c: Buffer) => out.stderr(c));
      child.on('error', (e) => {
        failure ??= e;
      });
      child.stdin.on('error', () => {
        // EPIPE when the command exits without reading all of stdin; the exit code tells the story.
      });
      const stdin = opts.stdin;
      if (isReadable(stdin)) {
        stdin.on('error', (e) => {
          failure ??= e;
          killGroup(child);
        });
        stdin.pipe(child.stdin);
      } else {
        child.stdin.end(stdin);
      }
      child.on('close', (code, sig) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (isReadable(stdin)) {
          stdin.unpipe(child.stdin);
          if (!stdin.readableEnded) stdin.destroy();
        }
        if (failure !== undefined) return reject(failure);
        const exit = code ?? -1;
        if (exit !== 0 && !opts.allowFailure) {
          const stdout = out.stdoutBytes().toString('utf8');
          const detail = sig ? `${out.stderrText()}\n(signal ${sig})` : out.stderrText();
          return reject(new CommandFailedError(this.name, describeCommand(command, opts.env), exit, { stderr: detail, stdout }));
        }
        resolve({ code: exit, stdout: out.stdoutBytes(), stderr: out.stderrText() });
      });
    });
  }


  async close(): Promise<void> {}
}

/** SIGKILLs a child's whole process group (it was spawned detached, as a group leader). */
function killGroup(child: ChildProcess): void {
  killProcessGroup(child.pid);
}
