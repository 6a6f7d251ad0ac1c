import { UserError } from '../errors.js';
import { shellQuote } from '../host/shell.js';

/** Where sealer v0.9+ keeps an image's apps, under the rootfs. */
export const APPS_DIR = 'application/apps';

/**
 * What launching needs of an app of the image: the shape of src/image's `SealerApplication`
 * (declared here, as src/cluster does not import src/image; that type is assignable to it).
 */
export interface LaunchableApp {
  readonly name: string;
  /** `helm`, `kube` or `shell`; undefined when APPCMDS launch it. */
  readonly type?: string;
  readonly files?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cmds?: readonly string[];
}

/** What launching needs of an image's `sealer.image.extension` (src/image's `SealerImageExtension` fits). */
export interface LaunchableImage {
  /** `kube-installer` (or undefined) or `app-installer`. */
  readonly type?: string;
  readonly applications?: readonly LaunchableApp[];
  readonly env?: Readonly<Record<string, string>>;
  readonly launch: { readonly cmds?: readonly string[]; readonly appNames?: readonly string[] };
}

/** One app as `run` launches it on master0: its commands, run one by one in `cwd` with `env`. */
export interface AppLaunch {
  readonly app: string;
  /** The app's directory on master0 (`<rootfs>/application/apps/<name>`). */
  readonly cwd: string;
  readonly commands: readonly string[];
  /** The image's ENV, then the app's APPENV, then `-e` (a later one wins). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * What `run` launches after the cluster is up: apps by name (LAUNCH or `--apps`), or raw commands
 * (CMDS, or the CMDs of an image without sealer's extension) run in the rootfs.
 */
export type LaunchPlan =
  | { readonly kind: 'apps'; readonly apps: readonly AppLaunch[] }
  | { readonly kind: 'cmds'; readonly cmds: readonly string[]; readonly env: Readonly<Record<string, string>> };

/** What {@link planLaunch} needs. */
export interface LaunchInput {
  /** The image's `sealer.image.extension`; undefined for images without it (v0.8-style). */
  readonly extension: LaunchableImage | undefined;
  /** The image's v0.8-style CMDs (label `io.sealer.cluster.cmds`). */
  readonly cmds: readonly string[];
  /** `--apps a,b`: the apps to launch instead of the image's LAUNCH. */
  readonly apps?: readonly string[] | undefined;
  /** `-e K=V`. */
  readonly env: Readonly<Record<string, string>>;
  /** The cluster's rootfs on master0. */
  readonly rootfs: string;
}

/**
 * Decides what `run` launches, as sealer v0.11 does (pkg/application appdriver.go and
 * pkg/define/application/v1 GetAppLaunchCmd), without its bugs:
 * - `--apps` names apps, else the image's LAUNCH does: each app in that order, in its directory:
 *   its APPCMDS if it has them (its elements joined with spaces into one command line, as sealer
 *   does), else by
 *   type: helm `helm install <name> <dir>`, kube `kubectl apply -f <dir>/<file>` per file, shell
 *   `bash <dir>/<file>` per file. Env: the image's ENV, the app's APPENV, then `-e` (sealer v0.11
 *   lets the image's ENV override APPENV, and does not export it to the commands at all);
 * - otherwise the extension's launch cmds (CMDS, or the CMDs our builder records there), with the
 *   image's ENV and then `-e`;
 * - otherwise (no extension, or an empty launch) the image's v0.8 CMDs.
 * Pure. An app name not in the image, or an app with nothing to run, is a UserError.
 */
export function planLaunch(input: LaunchInput): LaunchPlan {
  const ext = input.extension;
  const imageEnv = ext?.env ?? {};
  const names = input.apps ?? ext?.launch.appNames;
  if (names !== undefined && names.length > 0) {
    const known = new Map((ext?.applications ?? []).map((a) => [a.name, a]));
    return {
      kind: 'apps',
      apps: names.map((name) => {
        const app = known.get(name);
        if (app === undefined) {
          const have = [...known.keys()];
          throw new UserError(`app ${JSON.stringify(name)} is not in the image (its apps: ${have.length > 0 ? have.join(', ') : 'none'})`);
        }
        const cwd = `${input.rootfs}/${APPS_DIR}/${name}`;
        return { app: name, cwd, commands: appCommands(app, cwd), env: { ...imageEnv, ...(app.env ?? {}), ...input.env } };
      }),
    };
  }
  const cmds = ext?.launch.cmds !== undefined && ext.launch.cmds.length > 0 ? ext.launch.cmds : input.cmds;
  return { kind: 'cmds', cmds, env: { ...imageEnv, ...input.env } };
}

/** The commands that launch one app in its directory `dir`. */
export function appCommands(app: LaunchableApp, dir: string): string[] {
  // sealer joins APPCMDS' elements with spaces into one command line (`["./run", "--ns", "x"]`).
  if (app.cmds !== undefined && app.cmds.length > 0) return [app.cmds.join(' ')];
  const files = app.files ?? [];
  const commands =
    app.type === 'helm'
      ? [`helm install ${shellQuote(app.name)} ${shellQuote(dir)}`]
      : app.type === 'kube'
        ? files.map((f) => `kubectl apply -f ${shellQuote(`${dir}/${f}`)}`)
        : app.type === 'shell'
          ? files.map((f) => `bash ${shellQuote(`${dir}/${f}`)}`)
          : [];
  if (commands.length === 0) throw new UserError(`app ${JSON.stringify(app.name)} has nothing to launch: no APPCMDS, and no type and files to launch it by`);
  return commands;
}

/** Parses `--apps a,b` (empty entries dropped; an empty list is a UserError). */
export function parseAppsFlag(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new UserError('--apps needs app names: --apps a,b');
  return names;
}
