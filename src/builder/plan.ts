import { UserError } from '../errors.js';
import { expandWord } from '../kubefile/expand.js';
import type { Platform } from '../image/types.js';
import type { AppInstruction, AppSource, CommandForm, Instruction, Kubefile, SourceRange } from '../kubefile/instructions.js';

/** One step of a build with every variable already substituted. */
export type PlannedStep =
  | { readonly kind: 'COPY'; readonly text: string; readonly location: SourceRange; readonly sources: readonly string[]; readonly dest: string }
  | { readonly kind: 'ADD'; readonly text: string; readonly location: SourceRange; readonly sources: readonly string[]; readonly dest: string }
  | { readonly kind: 'RUN'; readonly text: string; readonly location: SourceRange; readonly command: CommandForm; readonly env: readonly (readonly [string, string])[] }
  | { readonly kind: 'CMD'; readonly text: string; readonly location: SourceRange; readonly command: string }
  | { readonly kind: 'ENV'; readonly text: string; readonly location: SourceRange; readonly pairs: readonly (readonly [string, string])[] }
  | { readonly kind: 'LABEL'; readonly text: string; readonly location: SourceRange; readonly pairs: readonly (readonly [string, string])[] }
  | { readonly kind: 'ARG'; readonly text: string; readonly location: SourceRange; readonly name: string; readonly value: string }
  | PlannedApp
  | { readonly kind: 'APPCMDS'; readonly text: string; readonly location: SourceRange; readonly app: string; readonly commands: readonly string[] }
  | { readonly kind: 'APPENV'; readonly text: string; readonly location: SourceRange; readonly app: string; readonly pairs: readonly (readonly [string, string])[] }
  | { readonly kind: 'LAUNCH'; readonly text: string; readonly location: SourceRange; readonly apps: readonly string[] }
  | { readonly kind: 'CMDS'; readonly text: string; readonly location: SourceRange; readonly commands: readonly string[] }
  | { readonly kind: 'MAINTAINER'; readonly text: string; readonly location: SourceRange; readonly author: string };

/** An APP, CNI or CSI with its sources substituted: copied into `application/apps/<name>/`. */
export interface PlannedApp {
  readonly kind: 'APP';
  readonly text: string;
  readonly location: SourceRange;
  /** The instruction as parsed (names the line in type errors). */
  readonly instruction: AppInstruction;
  readonly name: string;
  readonly sources: readonly AppSource[];
  /** The Kubefile gives APPCMDS for this app, so it needs no type. */
  readonly hasAppCmds: boolean;
}

/** A Kubefile bound to its build arguments: what the executor runs. */
export interface BuildPlan {
  /** The base image text after substitution, or `scratch`. */
  readonly base: string;
  readonly steps: readonly PlannedStep[];
  /** ARG values in force at the end, recorded in the image for the CMDs. */
  readonly args: Readonly<Record<string, string>>;
  readonly warnings: readonly string[];
  /** The parsed Kubefile: the build checks its app references against the base image's apps. */
  readonly kubefile: Kubefile;
  readonly buildArgs: ReadonlyMap<string, string>;
  /** `FROM --platform=...` after substitution: the platform the base is taken for. */
  readonly fromPlatform?: string;
  /** The architecture `${ARCH}` stood for in COPY and APP sources; unset: not yet per platform. */
  readonly arch?: string;
}

/**
 * The plan for one target platform: `${ARCH}`/`$ARCH` in COPY and APP sources become its
 * architecture (sealer v0.11), even where an ARG or ENV named ARCH is in scope. The executor confines
 * the rendered sources as it confines any.
 */
export function planForPlatform(plan: BuildPlan, platform: Platform): BuildPlan {
  if (plan.arch === platform.architecture) return plan;
  return planBuild(plan.kubefile, plan.buildArgs, platform.architecture);
}

/**
 * Binds a parsed Kubefile to `--build-arg` values with docker's ARG rules: an ARG before FROM is
 * visible only to FROM; after FROM an ARG takes its build-arg value, else its default; ENV values
 * win over ARGs of the same name. An unused build arg is a warning. Pure: no I/O.
 */
export function planBuild(kubefile: Kubefile, buildArgs: ReadonlyMap<string, string>, arch?: string): BuildPlan {
  const warnings = kubefile.warnings.map((w) => `Kubefile:${w.line}: ${w.text}`);
  const used = new Set<string>();
  const preFrom = new Map<string, string>();
  const args = new Map<string, string>();
  const env = new Map<string, string>();
  const vars = (): Map<string, string> => new Map([...args, ...env]);
  // sealer substitutes ARCH before anything else: it wins over an ARG or ENV of that name.
  const sourceVars = (): Map<string, string> => new Map([...args, ...env, ...(arch !== undefined ? [['ARCH', arch] as const] : [])]);
  const steps: PlannedStep[] = [];
  const appCmds = new Set(kubefile.instructions.flatMap((i) => (i.kind === 'APPCMDS' ? [i.app] : [])));
  let base: string | undefined;
  let fromPlatform: string | undefined;

  const argValue = (name: string, def: string | undefined, scope: ReadonlyMap<string, string>): string | undefined => {
    if (buildArgs.has(name)) {
      used.add(name);
      return buildArgs.get(name);
    }
    return def !== undefined ? expandWord(def, scope) : undefined;
  };

  for (const ins of kubefile.instructions) {
    if (base === undefined) {
      if (ins.kind === 'ARG') {
        const v = argValue(ins.name, ins.defaultValue, preFrom);
        preFrom.set(ins.name, v ?? '');
      } else if (ins.kind === 'FROM') {
        if (ins.platform !== undefined) fromPlatform = expandWord(ins.platform, preFrom).trim();
        base = expandWord(ins.image, preFrom).trim();
        if (base === '') throw new UserError(`${where(ins.location)}: FROM names no image after substitution`);
      }
      continue;
    }
    const step = planStep(ins, vars, (name, def) => {
      const v = argValue(name, def, vars()) ?? preFrom.get(name);
      args.set(name, v ?? '');
      return v ?? '';
    }, env, appCmds, sourceVars);
    if (step) steps.push(step);
  }
  if (base === undefined) throw new UserError('Kubefile has no FROM instruction');
  for (const name of buildArgs.keys()) {
    if (!used.has(name)) warnings.push(`build argument ${name} was given but no ARG in the Kubefile uses it`);
  }
  return {
    base,
    steps,
    args: Object.fromEntries(args),
    warnings,
    kubefile,
    buildArgs,
    ...(fromPlatform ? { fromPlatform } : {}),
    ...(arch !== undefined ? { arch } : {}),
  };
}

function planStep(
  ins: Instruction,
  vars: () => ReadonlyMap<string, string>,
  declareArg: (name: string, def: string | undefined) => string,
  env: Map<string, string>,
  appCmds: ReadonlySet<string>,
  sourceVars: () => ReadonlyMap<string, string>,
): PlannedStep | undefined {
  const text = ins.original;
  const location = ins.location;
  switch (ins.kind) {
    case 'FROM':
      return undefined;
    case 'ARG':
      return { kind: 'ARG', text, location, name: ins.name, value: declareArg(ins.name, ins.defaultValue) };
    case 'ENV': {
      const pairs = ins.pairs.map(([k, v]) => [k, expandWord(v, vars())] as const);
      for (const [k, v] of pairs) env.set(k, v);
      return { kind: 'ENV', text, location, pairs };
    }
    case 'LABEL':
      return { kind: 'LABEL', text, location, pairs: ins.pairs.map(([k, v]) => [expandWord(k, vars()), expandWord(v, vars())] as const) };
    case 'COPY':
    case 'ADD':
      return {
        kind: ins.kind,
        text,
        location,
        sources: ins.sources.map((s) => expandWord(s, sourceVars())),
        dest: expandWord(ins.dest, vars()),
      };
    case 'RUN':
      return { kind: 'RUN', text, location, command: ins.command, env: [...vars()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) };
    case 'CMD':
      return { kind: 'CMD', text, location, command: commandText(ins.command) };
    case 'MAINTAINER':
      return { kind: 'MAINTAINER', text, location, author: ins.maintainer };
    case 'KUBEVERSION':
      return { kind: 'LABEL', text, location, pairs: [[ins.label, ins.version]] };
    case 'APP':
      return {
        kind: 'APP',
        text,
        location,
        instruction: ins,
        name: ins.name,
        // Local paths take ARG/ENV values as COPY sources do; the build confines them again.
        sources: ins.sources.map((s) => (s.scheme === 'local' ? { scheme: 'local', path: expandWord(s.path, sourceVars()) } : s)),
        hasAppCmds: appCmds.has(ins.name),
      };
    case 'APPCMDS':
      return { kind: 'APPCMDS', text, location, app: ins.app, commands: ins.commands };
    case 'APPENV':
      return { kind: 'APPENV', text, location, app: ins.app, pairs: ins.pairs.map(([k, v]) => [k, expandWord(v, vars())] as const) };
    case 'LAUNCH':
      return { kind: 'LAUNCH', text, location, apps: ins.apps };
    case 'CMDS':
      return { kind: 'CMDS', text, location, commands: ins.commands };
  }
}

/** A command as one shell line: shell form verbatim, exec form quoted word by word. */
export function commandText(c: CommandForm): string {
  if (c.form === 'shell') return c.text;
  return c.argv.map(shellQuote).join(' ');
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function where(loc: SourceRange): string {
  return `${loc.file}:${loc.startLine}`;
}
