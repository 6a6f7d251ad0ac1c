import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';

/** What a command run through the Engine's exec API printed and how it ended. */
export interface DockerExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** At most this much of each stream is kept (readiness probes and host keys are small). */
const MAX_OUTPUT = 256 * 1024;

/**
 * Runs `argv` in a running container through the Docker Engine API (no SSH needed), collecting
 * its output; aborting the signal stops waiting (the command itself is left to end).
 */
export async function dockerExec(
  container: Dockerode.Container,
  argv: readonly string[],
  signal?: AbortSignal,
): Promise<DockerExecResult> {
  signal?.throwIfAborted();
  const exec = await container.exec({ Cmd: [...argv], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = collector();
  const err = collector();
  container.modem.demuxStream(stream, out.sink, err.sink);
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      stream.destroy();
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
  });
  // The stream can end a moment before the engine has recorded the exit code.
  let info = await exec.inspect();
  for (let i = 0; i < 20 && info.Running; i++) {
    await new Promise((r) => setTimeout(r, 25));
    info = await exec.inspect();
  }
  return { code: info.ExitCode ?? -1, stdout: out.text(), stderr: err.text() };
}

function collector(): { sink: PassThrough; text: () => string } {
  const chunks: Buffer[] = [];
  let size = 0;
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => {
    if (size < MAX_OUTPUT) chunks.push(c);
    size += c.length;
  });
  return { sink, text: () => Buffer.concat(chunks).toString('utf8') };
}
