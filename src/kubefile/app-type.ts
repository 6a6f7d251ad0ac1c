import { KubefileError } from './errors.js';
import type { AppInstruction } from './instructions.js';

/** The app types sealer knows how to launch without APPCMDS. */
export type AppType = 'helm' | 'kube' | 'shell';

/**
 * One source of an APP as the build found it, after downloading URLs: what lands in the app's
 * directory. As with docker's COPY, a file lands under its own name and a directory's contents
 * land in the app directory itself.
 */
export interface AppSourceEntry {
  /** Base name of the file or directory (for a URL, the downloaded file's name). */
  readonly name: string;
  readonly isDir: boolean;
  /**
   * For a directory: the regular files under it, `/`-separated paths relative to it, in walk
   * order (`Chart.yaml`, `templates/deploy.yaml`). Ignored for a file.
   */
  readonly files?: readonly string[];
}

/** What sealer records for an app in `sealer.image.extension`. */
export interface InferredApp {
  /** Undefined when nothing could be inferred and APPCMDS says how to launch the app. */
  readonly type: AppType | undefined;
  /**
   * sealer's `files`: for kube and shell, every file, relative to the app directory, in source
   * order (launched one by one); for helm, the app name (sealer installs the directory as a chart).
   */
  readonly files: readonly string[];
}

const YAML = /\.ya?ml$/i;
const SHELL = /\.sh$/i;

/**
 * Infers an APP's type from what its sources put in the app directory, as sealer v0.11 does
 * (build/kubefile/parser/utils.go getApplicationType), stated precisely:
 * - a `Chart.yaml` at the top of the app directory (a chart directory given as a source, or the
 *   file itself) → `helm`;
 * - otherwise, when every file is `*.yaml`/`*.yml` → `kube`; when every file is `*.sh` → `shell`;
 * - otherwise (other files, YAML and scripts mixed, or no files at all) there is no type, which is
 *   an error unless the Kubefile gives APPCMDS for the app (`hasAppCmds`).
 * Two sources that put the same path in the app directory, or two charts, are errors too.
 * Throws a {@link KubefileError} naming the APP's line. Pure: the build describes the sources.
 */
export function inferAppType(app: AppInstruction, entries: readonly AppSourceEntry[], hasAppCmds: boolean): InferredApp {
  const { file, startLine } = app.location;
  const fail = (reason: string): never => {
    throw new KubefileError(file, startLine, `${app.role} ${app.name}: ${reason}`);
  };
  const files: string[] = [];
  const origin = new Map<string, string>();
  const charts: string[] = [];
  for (const entry of entries) {
    const own = entry.isDir ? (entry.files ?? []) : [entry.name];
    for (const f of own) {
      const other = origin.get(f);
      if (other !== undefined) {
        fail(`${JSON.stringify(f)} comes from both ${other} and ${entry.name}, so one would overwrite the other in the app directory`);
      }
      origin.set(f, entry.name);
      files.push(f);
    }
    if (own.includes('Chart.yaml')) charts.push(entry.name);
  }
  if (charts.length > 1) fail(`the sources hold several Helm charts (${charts.join(', ')}); give each chart its own APP`);
  if (charts.length === 1) return { type: 'helm', files: [app.name] };

  const untyped = (why: string): InferredApp => {
    if (hasAppCmds) return { type: undefined, files: [] };
    return fail(`${why}; add APPCMDS ${app.name} ["..."] to say how to launch it`);
  };
  if (files.length === 0) return untyped('its sources hold no files, so it has no type');
  const other = files.find((f) => !YAML.test(f) && !SHELL.test(f));
  if (other !== undefined) {
    return untyped(
      `cannot tell its type: ${JSON.stringify(other)} is neither YAML (kube) nor *.sh (shell), and there is no Chart.yaml (helm)`,
    );
  }
  const yaml = files.filter((f) => YAML.test(f));
  if (yaml.length === files.length) return { type: 'kube', files };
  if (yaml.length === 0) return { type: 'shell', files };
  return untyped(`cannot tell its type: it holds both YAML files (kube) and shell scripts (shell), e.g. ${JSON.stringify(yaml[0])}`);
}
