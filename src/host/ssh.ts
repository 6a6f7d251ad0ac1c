import type { Readable } from 'node:stream';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Client } from 'ssh2';
import { nullReporter, type Reporter } from '../report/events.js';
import { CommandHost } from './command-host.js';
import { CommandFailedError, HostConnectError } from './errors.js';
import type { Command, ExecOptions, ExecResult, Host, RawExecResult } from './host.js';
import { describeCommand, tiedToSession, wrapCommand } from './shell.js';
import { type BulkInit, execInWorker } from './ssh-bulk.js';
import { runOnChannel } from './ssh-channel.js';
import { openSsh, type SshConnection, type SshConnectOptions } from './ssh-connect.js';

/** Options for {@link SshHost.connect}. */
export interface SshHostOptions extends SshConnectOptions {
  /** Commands in flight on one connection (sshd's MaxSessions defaults to 10). Default 8. */
  readonly maxChannels?: number;
  readonly reporter?: Reporter;
}

/** A host reached over SSH (ssh2), with its host key checked against known_hosts. */
export class SshHost extends CommandHost implements Host {
  readonly name: string;
  /** The key the host presented and what known_hosts made of it. */
  readonly hostKey: SshConnection['hostKey'];
  private readonly client: Client;
  private readonly secrets: readonly string[];
  /** How a bulk transfer's worker connects: these options with the host key pinned (memory only). */
  private readonly bulk: BulkInit['connect'];
  private readonly limit: LimitFunction;
  private closed = false;
  private lost: string | undefined;
  /** Kills of aborted commands' process groups still on their way (close waits for them). */
  private readonly kills = new Set<Promise<void>>();

  private constructor(conn: SshConnection, maxChannels: number, opts: SshConnectOptions) {
    super();
    const { signal: _signal, ...connect } = opts;
    this.bulk = {
      host: connect.host,
      ...(connect.port !== undefined ? { port: connect.port } : {}),
      ...(connect.user !== undefined ? { user: connect.user } : {}),
      ...(connect.password !== undefined ? { password: connect.password } : {}),
      ...(connect.privateKey !== undefined ? { privateKey: connect.privateKey } : {}),
      ...(connect.passphrase !== undefined ? { passphrase: connect.passphrase } : {}),
      ...(connect.connectTimeoutMs !== undefined ? { connectTimeoutMs: connect.connectTimeoutMs } : {}),
      ...(connect.keepaliveIntervalMs !== undefined ? { keepaliveIntervalMs: connect.keepaliveIntervalMs } : {}),
      pinnedHostKey: conn.hostKey.blob,
    };
    this.client = conn.client;
    this.name = conn.name;
    this.secrets = conn.secrets;
    this.hostKey = conn.hostKey;
    this.limit = pLimit(maxChannels);
    this.client.on('error', (err: Error) => {
      this.lost ??= err.message;
    });
    this.client.on('close', () => {
      this.lost ??= 'the connection closed';
    });
  }

  /** Connects and logs in; a refused, unreachable, timed-out or rejected login is a HostConnectError. */
  static async connect(opts: SshHostOptions): Promise<SshHost> {
    const conn = await openSsh(opts);
    const host = new SshHost(conn, opts.maxChannels ?? 8, opts);
    const reporter = opts.reporter ?? nullReporter;
    if (conn.hostKey.verdict === 'recorded') {
      reporter.emit({
        type: 'log',
        level: 'info',
        text: `${conn.name}: recorded host key ${conn.hostKey.type} ${conn.hostKey.fingerprint} on first use`,
      });
    } else if (conn.hostKey.verdict === 'skipped') {
      reporter.emit({ type: 'warning', text: `${conn.name}: host key not checked (checking is off)` });
    }
    return host;
  }

  async exec(command: Command, opts: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.execRaw(command, opts);
    return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr };
  }

  async execRaw(command: Command, opts: ExecOptions = {}): Promise<RawExecResult> {
    if (this.closed) throw new HostConnectError(this.name, 'closed', 'the connection was closed');
    if (this.lost !== undefined) throw new HostConnectError(this.name, 'closed', `connection lost: ${this.lost}`);
    const text = tiedToSession(wrapCommand(command, opts.env, opts.cwd));
    const r = await this.limit(() =>
      runOnChannel(this.client, this.name, text, {
        ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onOutput ? { onOutput: opts.onOutput } : {}),
        ...(opts.keepStdout !== undefined ? { keepStdout: opts.keepStdout } : {}),
        killGroup: (pgid) => this.killGroup(pgid),
      }),
    );
    if (r.code !== 0 && !opts.allowFailure) {
      throw new CommandFailedError(
        this.name,
        describeCommand(command, opts.env),
        r.code,
        { stderr: r.stderr, stdout: r.stdout.toString('utf8') },
        this.secrets,
      );
    }
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  }

  async execBulk(command: Command, stdin: Readable, opts: { signal?: AbortSignal } = {}): Promise<ExecResult> {
    if (this.closed) throw new HostConnectError(this.name, 'closed', 'the connection was closed');
    const init: BulkInit = { connect: this.bulk, command: tiedToSession(wrapCommand(command)) };
    const r = await execInWorker(init, this.name, stdin, this.secrets, opts.signal);
    if (r.code !== 0) {
      throw new CommandFailedError(this.name, describeCommand(command), r.code, { stderr: r.stderr, stdout: r.stdout.toString('utf8') }, this.secrets);
    }
    return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr };
  }


  /** Kills an aborted command's process group on the host, over a channel of its own. */
  private killGroup(pgid: number): void {
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      const end = (): void => {
        clearTimeout(timer);
        resolve();
      };
      try {
        this.client.exec(`kill -KILL -- -${pgid}`, (err, ch) => {
          if (err) return end();
          ch.on('close', end).resume();
          ch.stderr.resume();
          ch.end();
        });
      } catch {
        end();
      }
    });
    this.kills.add(done);
    void done.then(() => this.kills.delete(done));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.kills);
    await new Promise<void>((resolve) => {
      if (this.lost !== undefined) return resolve();
      // A peer that never answers the disconnect (a machine already gone) is cut off.
      const timer = setTimeout(() => {
        this.client.destroy();
        resolve();
      }, 2000);
      this.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.end();
    });
  }
}
