import { spawn } from 'node:child_process';
import { Duplex, type Readable } from 'node:stream';

/**
 * A filter command (stdin → stdout, e.g. `zstd -c`) as a Duplex: a failed start or a non-zero
 * exit becomes a stream error carrying its stderr, and a stream closed early kills the command.
 */
export function filterProcess(cmd: string, args: readonly string[]): Duplex {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (d: Buffer) => stderr.push(d));
  const duplex = Duplex.from({ writable: child.stdin, readable: child.stdout as Readable });
  child.on('error', (err) => duplex.destroy(new Error(`running ${cmd}: ${err.message}`)));
  child.on('close', (code) => {
    if (code !== 0) duplex.destroy(new Error(`${cmd} exited ${code}: ${Buffer.concat(stderr).toString().trim()}`));
  });
  duplex.on('close', () => {
    if (child.exitCode === null) child.kill();
  });
  return duplex;
}
