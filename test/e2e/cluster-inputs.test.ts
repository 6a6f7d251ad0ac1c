import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { CLI, sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { requireBinary } from '../support/requirements.js';
import { makeTestKey } from '../support/ssh-keys.js';

/**
 * A TCP server standing in for every host's sshd: it records each connection and closes it at
 * once, so a run that gets as far as connecting fails quickly, and one that does not leaves 0.
 */
async function recordingSshd(t: TestContext): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  const server: Server = createServer((sock) => {
    n++;
    sock.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return { port: address.port, connections: () => n };
}

const WARNING = /-p\/--passwd put a secret on the command line/g;

test('run/apply/join/delete refuse bad input before any host is contacted (exit 2 for flags, 1 for files)', async (t) => {
  const sshd = await recordingSshd(t);
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  const opts = { root, env: { SEALER_PASSWORD: 'pw' }, timeoutMs: 60_000 };
  await writeTree(ctx, {
    Kubefile: 'FROM scratch\nCOPY app.conf.tmpl etc/app.conf.tmpl\n',
    'app.conf.tmpl': 'domain={{ .DOMAIN }}\n',
  });
  assert.equal((await sealer(['build', '-t', 'tmpl:v1', ctx], { root })).code, 0);
  await writeTree(ctx, {
    Kubefile: 'FROM scratch\nCOPY p.yaml plugins/p.yaml\n',
    'p.yaml': 'apiVersion: sealer.aliyun.com/v1alpha1\nkind: Plugin\nmetadata: {name: bad-on}\nspec: {type: SHELL, action: PostInstall, on: "10.0.0.1,10.0.0", data: "true"}\n',
  });
  assert.equal((await sealer(['build', '-t', 'plug:v1', ctx], { root })).code, 0);
  const kh = ['--known-hosts', path.join(root, 'kh')];
  const at = ['-m', '127.0.0.1', '--port', String(sshd.port), ...kh];
  const garbage = path.join(root, 'garbage-key');
  await writeFile(garbage, 'not a key\n');
  const encrypted = await makeTestKey(t, { passphrase: 'secret' });

  const cases: { args: string[]; code: number; error: RegExp }[] = [
    { args: ['run', ...at, '-e', 'bad key=1', '-e', 'DOMAIN=x', 'tmpl:v1'], code: 2, error: /-e: "bad key" is not a valid variable name/ },
    { args: ['run', ...at, '-e', 'DOMAIN=x', '--cmd-args', '1X=1', 'tmpl:v1'], code: 2, error: /--cmd-args: "1X" is not a valid variable name/ },
    { args: ['run', ...at, '-e', 'NOEQUALS', 'tmpl:v1'], code: 2, error: /-e wants KEY=VALUE/ },
    { args: ['run', '-m', '127.0.0.1,10.0.0', '--port', String(sshd.port), 'tmpl:v1'], code: 2, error: /invalid host address "10\.0\.0"/ },
    { args: ['run', '-m', '127.0.0.1', '-n', '127.0.0.1', '--port', String(sshd.port), 'tmpl:v1'], code: 2, error: /127\.0\.0\.1 is given twice/ },
    { args: ['run', '-m', '127.0.0.1', '--port', '70000', 'tmpl:v1'], code: 2, error: /--port: invalid SSH port "70000"/ },
    { args: ['run', '-m', '127.0.0.1', '--port', '22a', 'tmpl:v1'], code: 2, error: /--port: invalid SSH port "22a"/ },
    { args: ['run', ...at, '--format', 'yaml', 'tmpl:v1'], code: 2, error: /--format must be text or json/ },
    { args: ['run', ...at, '--cluster-name', 'Bad_Name', 'tmpl:v1'], code: 1, error: /invalid cluster name "Bad_Name"/ },
    { args: ['run', ...at, '-i', path.join(root, 'no-such-key'), 'tmpl:v1'], code: 1, error: /-i\/--pk: cannot read private key .*no-such-key: ENOENT/ },
    { args: ['run', ...at, '-i', garbage, 'tmpl:v1'], code: 1, error: /not a usable private key/ },
    { args: ['run', ...at, '-i', encrypted.path, 'tmpl:v1'], code: 1, error: /the private key is encrypted and no passphrase was given/ },
    { args: ['run', ...at, 'Not/A..Reference'], code: 2, error: /Not\/A\.\.Reference/ },
    { args: ['run', ...at, '--insecure-registry', '127.0.0.1:1', '127.0.0.1:1/absent:v1'], code: 1, error: /127\.0\.0\.1:1/ },
    // Found only in the image: a template needing a variable nobody gave, a plugin selector that does not parse.
    { args: ['run', ...at, 'tmpl:v1'], code: 1, error: /app\.conf\.tmpl.*DOMAIN|DOMAIN.*app\.conf\.tmpl/ },
    { args: ['run', ...at, 'plug:v1'], code: 1, error: /plugin bad-on .*invalid selector on: "10\.0\.0\.1,10\.0\.0"/ },
    { args: ['join', ...kh, '-c', 'none', '-n', '127.0.0.1', '-e', 'a-b=1'], code: 2, error: /-e: "a-b" is not a valid variable name/ },
    { args: ['join', ...kh, '-c', 'none', '-n', '127.0.0.1', '--port', '0'], code: 2, error: /--port: invalid SSH port "0"/ },
    { args: ['delete', ...kh, '-c', 'none', '-a', '-e', '=1'], code: 2, error: /-e wants KEY=VALUE/ },
    { args: ['delete', ...kh, '-c', 'none', '-a'], code: 1, error: /no cluster none known here/ },
  ];
  const clusterfile = async (spec: string, extra = ''): Promise<string> => {
    const file = path.join(root, `Clusterfile-${Math.random().toString(36).slice(2)}`);
    await writeFile(
      file,
      `apiVersion: sealer.io/v2\nkind: Cluster\nmetadata: {name: c1}\nspec:\n  image: tmpl:v1\n  env: [DOMAIN=x]\n  hosts: [{ips: [127.0.0.1], roles: [master]}]\n${spec}${extra}`,
    );
    return file;
  };
  const ssh = `  ssh: {passwd: pw, port: ${sshd.port}}\n`;
  const plugin = '---\nkind: Plugin\nmetadata: {name: p}\nspec: {type: SHELL, action: PostInstall, on: "10.0.0.9-10.0.0.1", data: "true"}\n';
  cases.push(
    { args: ['apply', ...kh, '-f', await clusterfile(`${ssh}  cmd_args: ["bad key=1"]\n`)], code: 1, error: /spec\.cmd_args: "bad key" is not a valid variable name/ },
    { args: ['apply', ...kh, '-f', await clusterfile('  ssh: {passwd: pw, port: "2 2"}\n')], code: 1, error: /spec\.ssh\.port: invalid SSH port/ },
    { args: ['apply', ...kh, '-f', await clusterfile(`  ssh: {passwd: pw, port: ${sshd.port}, pk: /no/such/key}\n`)], code: 1, error: /spec\.ssh\.pk: cannot read private key \/no\/such\/key/ },
    { args: ['apply', ...kh, '-f', await clusterfile(ssh, plugin)], code: 1, error: /plugin p .*invalid selector/ },
    { args: ['apply', ...kh, '-f', await clusterfile(ssh), '--port', 'x'], code: 2, error: /--port: invalid SSH port "x"/ },
    { args: ['apply', ...kh, '-f', path.join(root, 'no-such-Clusterfile')], code: 1, error: /cannot read Clusterfile .*no-such-Clusterfile: ENOENT/ },
  );
  for (const c of cases) {
    const r = await sealer(c.args, opts);
    assert.equal(r.code, c.code, `${c.args.join(' ')}\n${r.stderr}`);
    assert.match(r.stderr, c.error, c.args.join(' '));
    assert.doesNotMatch(r.stderr, /unexpected error/);
    assert.equal(sshd.connections(), 0, `${c.args.join(' ')} reached a host`);
  }

  // Control: the same inputs made good do reach the host (here a stand-in that hangs up), and
  // -p warns, once, that the password is visible in ps.
  const good = await sealer(['run', ...at, '-p', 'pw', '-e', 'DOMAIN=x', 'tmpl:v1'], { root, timeoutMs: 60_000 });
  assert.equal(good.code, 1, good.stderr);
  assert.match(good.stderr, /could not be reached/);
  assert.ok(sshd.connections() >= 1);
  assert.equal(good.stderr.match(WARNING)?.length, 1, good.stderr);
  const viaEnv = await sealer(['run', ...at, '-e', 'DOMAIN=x', 'tmpl:v1'], opts);
  assert.doesNotMatch(viaEnv.stderr, WARNING, 'SEALER_PASSWORD is the quiet way');
  const good2 = await sealer(['apply', ...kh, '-f', await clusterfile(ssh), '-p', 'pw'], { root, timeoutMs: 60_000 });
  assert.equal(good2.stderr.match(WARNING)?.length, 1, good2.stderr);
});

test('--help says -p is visible in ps and shows the safe ways', async (t) => {
  const root = await tempDir(t);
  for (const cmd of ['run', 'apply', 'join', 'delete']) {
    const r = await sealer([cmd, '--help'], { root });
    assert.equal(r.code, 0);
    assert.match(r.stdout.replace(/\s+/g, ' '), /-p, --passwd <password> SSH password; visible to other users in ps: prefer SEALER_PASSWORD or the prompt/);
    assert.doesNotMatch(r.stdout, /--user <user>.*\(default: "root"\)/, 'no commander default: it would hide the Clusterfile');
  }
  assert.match((await sealer(['run', '--help'], { root })).stdout, /read -rs SEALER_PASSWORD && export SEALER_PASSWORD/);
});

test('the password prompt on a terminal is used when neither -p, the Clusterfile nor SEALER_PASSWORD give one', async (t) => {
  if (!requireBinary(t, 'script')) return;
  const sshd = await recordingSshd(t);
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY Kubefile etc/\n' });
  assert.equal((await sealer(['build', '-t', 'tiny:v1', ctx], { root })).code, 0);
  // script(1) gives sealer a terminal; the password is typed into it.
  const command = [process.execPath, CLI, '--root', root, 'run', '-m', '127.0.0.1', '--port', String(sshd.port), '--known-hosts', path.join(root, 'kh'), '-u', 'deploy', 'tiny:v1']
    .map((a) => `'${a}'`)
    .join(' ');
  const env = { ...process.env };
  delete env.SEALER_PASSWORD;
  const child = spawn('script', ['-qec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('SSH password for deploy: ') && !child.stdin.writableEnded) child.stdin.end('typed-secret\r');
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.match(out, /SSH password for deploy: /);
  assert.doesNotMatch(out, /typed-secret/, 'the password is not echoed');
  assert.match(out, /could not be reached/);
  assert.equal(code, 1, out);
  assert.ok(sshd.connections() >= 1, 'with the typed password, sealer went on to the host');
});
