/**
 * Typed Kubefile instructions: what the parser hands to the build. Values are raw (unexpanded):
 * ARG/ENV substitution depends on --build-arg, so the build expands them (see expand.ts).
 * RUN and CMD text is kept verbatim, quotes and `$` included: the shell expands it, with the
 * ARGs and ENVs exported, so what the user wrote is what /bin/sh sees.
 */

/** Where an instruction came from: file name and 1-based line range (continuations included). */
export interface SourceRange {
  readonly file: string;
  readonly startLine: number;
  readonly endLine: number;
}

interface Base {
  readonly location: SourceRange;
  /** The instruction as written, continuation lines joined. */
  readonly original: string;
}

/** A command in shell form (run by `/bin/sh -c`) or exec form (a JSON array of argv). */
export type CommandForm =
  | { readonly form: 'shell'; readonly text: string }
  | { readonly form: 'exec'; readonly argv: readonly string[] };

export interface FromInstruction extends Base {
  readonly kind: 'FROM';
  /** Raw image text, `scratch` for an empty base. May use ARGs declared before FROM. */
  readonly image: string;
  /** `FROM --platform=os/arch[/variant]`: the base is pulled for this platform, not the target's. */
  readonly platform?: string;
}
export interface ArgInstruction extends Base {
  readonly kind: 'ARG';
  readonly name: string;
  /** Raw default, when one is given (`ARG name=default`). */
  readonly defaultValue?: string;
}
export interface EnvInstruction extends Base {
  readonly kind: 'ENV';
  /** Raw `[name, value]` pairs in order. */
  readonly pairs: readonly (readonly [string, string])[];
}
export interface LabelInstruction extends Base {
  readonly kind: 'LABEL';
  /** Raw `[key, value]` pairs in order; keys may be quoted, so expand both. */
  readonly pairs: readonly (readonly [string, string])[];
}
export interface CopyInstruction extends Base {
  readonly kind: 'COPY';
  /** Raw source words: context-relative paths, wildcards, or http(s) URLs. */
  readonly sources: readonly string[];
  /** Raw destination word, relative to the rootfs root. */
  readonly dest: string;
}
/**
 * `ADD src... dest`: COPY's syntax and raw words; the build also extracts local tar archives
 * into the destination, as docker's ADD does (URLs are downloaded, never extracted).
 */
export interface AddInstruction extends Base {
  readonly kind: 'ADD';
  /** Raw source words: context-relative paths, wildcards, or http(s) URLs. */
  readonly sources: readonly string[];
  /** Raw destination word, relative to the rootfs root. */
  readonly dest: string;
}
export interface RunInstruction extends Base {
  readonly kind: 'RUN';
  readonly command: CommandForm;
}
export interface CmdInstruction extends Base {
  readonly kind: 'CMD';
  readonly command: CommandForm;
}

/** `MAINTAINER text`: the image author (OCI config `author`), verbatim. Docker deprecates it. */
export interface MaintainerInstruction extends Base {
  readonly kind: 'MAINTAINER';
  readonly maintainer: string;
}

/** Where an APP's file comes from: a build-context path or an http(s) URL. */
export type AppSource =
  /** `local://path`: `path` is a raw word relative to the build context (never absolute, no `..`). */
  | { readonly scheme: 'local'; readonly path: string }
  /** `http://...` or `https://...`, as written; downloaded by the build. */
  | { readonly scheme: 'http'; readonly url: string };

/**
 * `APP name source...`, and `CNI`/`CSI`, which are an APP plus a label (sealer v0.9+). The
 * sources are copied into the app's directory `application/apps/<name>/` in the rootfs; the
 * app's type (helm, kube, shell) is inferred by the build from what was copied (app-type.ts).
 */
export interface AppInstruction extends Base {
  readonly kind: 'APP';
  /** The instruction as written: `APP`, or `CNI`/`CSI` for a network or storage plugin app. */
  readonly role: 'APP' | 'CNI' | 'CSI';
  readonly name: string;
  readonly sources: readonly AppSource[];
  /** Labels sealer sets for this app: `cluster.alpha.sealer.io/kube-cni-<name>=true` for CNI. */
  readonly labels: readonly (readonly [string, string])[];
}
/** `APPCMDS name ["cmd", ...]`: the commands that launch `app` instead of its type's default. */
export interface AppCmdsInstruction extends Base {
  readonly kind: 'APPCMDS';
  readonly app: string;
  /** The JSON strings as written; sealer joins them with blanks after `cd <app dir> &&`. */
  readonly commands: readonly string[];
}
/** `APPENV name K=V...`: environment for one app only (its launch commands and rendering). */
export interface AppEnvInstruction extends Base {
  readonly kind: 'APPENV';
  readonly app: string;
  /** Raw `[name, value]` pairs in order, expanded by the build like ENV values. */
  readonly pairs: readonly (readonly [string, string])[];
}
/** `LAUNCH ["app", ...]` or `LAUNCH app...`: the apps `run` launches, in order. Last line. */
export interface LaunchInstruction extends Base {
  readonly kind: 'LAUNCH';
  readonly apps: readonly string[];
}
/** `CMDS ["command", ...]`: raw shell commands `run` executes, in order. Last line. */
export interface CmdsInstruction extends Base {
  readonly kind: 'CMDS';
  readonly commands: readonly string[];
}
/** `KUBEVERSION text`: the Kubernetes versions an app image supports, as a label. */
export interface KubeVersionInstruction extends Base {
  readonly kind: 'KUBEVERSION';
  /** The text after the keyword, verbatim (sealer quotes it as the label value). */
  readonly version: string;
  /** Always {@link KUBE_VERSION_LABEL}. */
  readonly label: string;
}

/** The label KUBEVERSION sets (sealer's `LabelSupportedKubeVersionAlpha`). */
export const KUBE_VERSION_LABEL = 'app.alpha.sealer.io/supported-kube-version';
/** Prefixes of the labels CNI and CSI set, followed by the app name, value `true`. */
export const KUBE_CNI_LABEL_PREFIX = 'cluster.alpha.sealer.io/kube-cni-';
export const KUBE_CSI_LABEL_PREFIX = 'cluster.alpha.sealer.io/kube-csi-';

export type Instruction =
  | FromInstruction
  | ArgInstruction
  | EnvInstruction
  | LabelInstruction
  | CopyInstruction
  | AddInstruction
  | RunInstruction
  | CmdInstruction
  | MaintainerInstruction
  | AppInstruction
  | AppCmdsInstruction
  | AppEnvInstruction
  | LaunchInstruction
  | CmdsInstruction
  | KubeVersionInstruction;

export type InstructionKind = Instruction['kind'];

/** A parsed Kubefile: the instructions in order, plus warnings that are not errors. */
export interface Kubefile {
  readonly instructions: readonly Instruction[];
  readonly warnings: readonly { readonly line: number; readonly text: string }[];
}
