import { problem } from './errors.js';
import {
  type AppCmdsInstruction,
  type AppEnvInstruction,
  type AppInstruction,
  type AppSource,
  type CmdsInstruction,
  KUBE_CNI_LABEL_PREFIX,
  KUBE_CSI_LABEL_PREFIX,
  type LaunchInstruction,
} from './instructions.js';
import { escapeQuotes } from './parse-commands.js';
import { type ParseContext, requireVariableName, requireWordSyntax } from './parse-context.js';
import { splitWords } from './words.js';

/**
 * The sealer v0.9+ application instructions: APP (and CNI/CSI), APPCMDS, APPENV, LAUNCH, CMDS.
 * Each parses one line; the rules that span lines (LAUNCH last, apps declared before use) are in
 * launch-rules.ts and app-references.ts.
 */

/**
 * An app name: it names a directory (`application/apps/<name>/`), a Helm release and an entry of
 * `run --apps a,b`, so it is one path segment without commas or blanks.
 */
const APP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Rejects a name that could not safely be an app's directory and release name. */
export function requireAppName(name: string, keyword: string): void {
  if (!APP_NAME.test(name)) {
    const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 60)}...` : name);
    problem(
      `${['APP', 'CNI', 'CSI'].includes(keyword) ? keyword : `${keyword} app`} name ${shown} is not valid: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters`,
    );
  }
}

/**
 * Parses `APP name source...` (and `CNI`/`CSI name source...`). Each source is `local://path`,
 * a path relative to the build context, or an http(s) URL. Paths stay raw words (`$ARCH`,
 * quotes): the build expands them per platform. The JSON form `APP ["name", "local://a"]`, which
 * sealer also reads, is accepted.
 */
export function parseApp(ctx: ParseContext): AppInstruction {
  const role = ctx.node.keyword as AppInstruction['role'];
  const usage = `${role} name local://path... or ${role} name https://url...`;
  const words = listOrWords(ctx.node.args, role);
  const [name, ...rest] = words;
  if (name === undefined) problem(`${role} needs a name and sources: ${usage}`);
  requireAppName(name, role);
  if (rest.length === 0) problem(`${role} ${name} needs at least one source: ${usage}`);
  // JSON strings are literal: escape them so that the build's expansion gives them back.
  const json = ctx.node.args.startsWith('[');
  const sources = rest.map((word) => appSource(json ? escapeQuotes(word) : word, role));
  const labels: [string, string][] =
    role === 'CNI' ? [[`${KUBE_CNI_LABEL_PREFIX}${name}`, 'true']] : role === 'CSI' ? [[`${KUBE_CSI_LABEL_PREFIX}${name}`, 'true']] : [];
  return { kind: 'APP', ...ctx.base, role, name, sources, labels };
}

function appSource(word: string, role: string): AppSource {
  const shown = JSON.stringify(word.length > 80 ? `${word.slice(0, 60)}...` : word);
  if (word.startsWith('local://')) {
    const path = word.slice('local://'.length);
    if (path === '') problem(`${role} source ${shown} names no path: write local://relative/path`);
    requireWordSyntax(path, `${role} source`);
    if (path.startsWith('/')) {
      problem(`${role} source ${shown} is an absolute path: local:// paths are relative to the build context`);
    }
    if (path.split('/').includes('..')) {
      problem(`${role} source ${shown} leaves the build context with '..': local:// paths stay inside it`);
    }
    return { scheme: 'local', path };
  }
  if (/^https?:\/\//.test(word)) {
    let host = '';
    try {
      host = new URL(word).hostname;
    } catch {
      // reported below
    }
    if (host === '') problem(`${role} source ${shown} is not a valid URL`);
    return { scheme: 'http', url: word };
  }
  problem(`${role} source ${shown} needs a scheme: local://path (in the build context), http:// or https://`);
}

/**
 * Parses `APPCMDS name ["command", ...]`: the name, then a JSON array of strings (sealer's only
 * form). sealer joins them with blanks after `cd <app dir> &&`, so one string may be a whole
 * command line.
 */
export function parseAppCmds(ctx: ParseContext): AppCmdsInstruction {
  const usage = 'APPCMDS name ["executable", "param1", ...]';
  const m = /^(\S+)\s*([\s\S]*)$/.exec(ctx.node.args);
  const app = m?.[1];
  if (app === undefined) problem(`APPCMDS needs an app name and commands: ${usage}`);
  requireAppName(app, 'APPCMDS');
  const commands = jsonStrings(m?.[2] ?? '');
  if (commands === undefined) problem(`APPCMDS ${app} needs a JSON array of strings: ${usage}`);
  if (commands.length === 0 || commands.every((c) => c.trim() === '')) {
    problem(`APPCMDS ${app} needs a command: the array is empty`);
  }
  return { kind: 'APPCMDS', ...ctx.base, app, commands };
}

/** Parses `APPENV name K=V...`: raw pairs, expanded by the build like ENV values. */
export function parseAppEnv(ctx: ParseContext): AppEnvInstruction {
  const [app, ...rest] = splitWords(ctx.node.args);
  if (app === undefined) problem('APPENV needs an app name and variables: APPENV name KEY=value...');
  requireAppName(app, 'APPENV');
  if (rest.length === 0) problem(`APPENV ${app} needs at least one KEY=value`);
  const pairs = rest.map((word): [string, string] => {
    const eq = word.indexOf('=');
    if (eq < 0) problem(`APPENV ${app}: ${JSON.stringify(word)} is not KEY=value`);
    const name = word.slice(0, eq);
    const value = word.slice(eq + 1);
    requireVariableName(name, 'APPENV');
    requireWordSyntax(value, `APPENV ${name} value`);
    return [name, value];
  });
  return { kind: 'APPENV', ...ctx.base, app, pairs };
}

/** Parses `LAUNCH ["app", ...]` or `LAUNCH app...`: app names, in launch order, each once. */
export function parseLaunch(ctx: ParseContext): LaunchInstruction {
  const apps = listOrWords(ctx.node.args, 'LAUNCH');
  if (apps.length === 0) problem('LAUNCH needs the apps to launch: LAUNCH ["app1", "app2"]');
  const seen = new Set<string>();
  for (const app of apps) {
    requireAppName(app, 'LAUNCH');
    if (seen.has(app)) problem(`LAUNCH names ${app} twice`);
    seen.add(app);
  }
  return { kind: 'LAUNCH', ...ctx.base, apps };
}

/**
 * Parses `CMDS ["command", ...]`: each string is one shell command. Only the JSON form: sealer
 * splits the shell form on blanks, making every word a command of its own.
 */
export function parseCmds(ctx: ParseContext): CmdsInstruction {
  const commands = jsonStrings(ctx.node.args);
  if (commands === undefined) {
    problem('CMDS takes a JSON array of commands: CMDS ["kubectl apply -f app.yaml", "bash run.sh"]');
  }
  if (commands.length === 0) problem('CMDS needs a command: the array is empty');
  if (commands.some((c) => c.trim() === '')) problem('CMDS holds an empty command');
  return { kind: 'CMDS', ...ctx.base, commands };
}

/** The strings of a JSON array of strings, or undefined when `text` is not one. */
function jsonStrings(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((x): x is string => typeof x === 'string')) return undefined;
  return parsed;
}

/**
 * sealer's parseMaybeJSONToList: a JSON array of strings when the text is one, else blank-separated
 * words. Text opening with `[` that is not such an array is an error, not words.
 */
function listOrWords(args: string, keyword: string): string[] {
  if (!args.startsWith('[')) return splitWords(args);
  const list = jsonStrings(args);
  if (list === undefined) {
    problem(`${keyword} list is not a JSON array of strings: write ${keyword} ["a", "b"] with double quotes, or drop the brackets`);
  }
  return list;
}
