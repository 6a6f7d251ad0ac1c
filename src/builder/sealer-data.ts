import type { CollectedImage } from '../image/cluster-labels.js';
import {
  readSealerAnnotations,
  SEALER_APP_VERSION,
  SEALER_SCHEMA_VERSION,
  type SealerApplication,
  type SealerContainerImage,
  type SealerImageExtension,
  type SealerImageType,
  type SealerLaunch,
  type SealerPlatform,
  sealerAnnotations,
} from '../image/sealer-extension.js';
import type { Manifest, Platform } from '../image/types.js';
import { APP_DIR } from './app-step.js';

/** The builder's name in `buildClient.sealerVersion`; we use no buildah, so its version is empty. */
export interface BuildClient {
  readonly sealerVersion: string;
  readonly buildahVersion: string;
}

/**
 * What a build knows in sealer v0.9+'s terms, for the `sealer.image.extension` and
 * `sealer.image.container.images` manifest annotations: the apps in declaration order (the base
 * image's first), APPCMDS/APPENV attached to them, the launch, the env and the container images
 * the base already carried. Starts from the base manifest's annotations, read as hostile input.
 */
export class SealerData {
  readonly apps = new Map<string, SealerApplication>();
  /** The base image's extension env (its Kubefile's ENV), under this Kubefile's. */
  private readonly baseEnv: Record<string, string> = {};
  private readonly baseLaunch: SealerLaunch | undefined;
  private readonly baseImages: readonly SealerContainerImage[];
  /** This Kubefile's LAUNCH apps, or CMDS commands; CMD lines are counted in `ownCmd`. */
  private launchApps: readonly string[] | undefined;
  private cmds: readonly string[] | undefined;
  private ownCmd = false;

  constructor(baseManifest?: Manifest) {
    const base = readSealerAnnotations(baseManifest?.annotations);
    for (const app of base.extension?.applications ?? []) this.apps.set(app.name, app);
    Object.assign(this.baseEnv, base.extension?.env ?? {});
    this.baseLaunch = base.extension?.launch;
    this.baseImages = base.containerImages;
  }

  /** The app names the base image brought (for the Kubefile's app reference check). */
  static baseAppNames(baseManifest: Manifest | undefined): string[] {
    return (readSealerAnnotations(baseManifest?.annotations).extension?.applications ?? []).map((a) => a.name);
  }

  /** APP/CNI/CSI: a new app (or one replacing the base image's app of that name, at the end). */
  addApp(app: SealerApplication): void {
    this.apps.delete(app.name);
    this.apps.set(app.name, { version: SEALER_APP_VERSION, ...app });
  }

  /** APPCMDS: the commands that launch `name` instead of its type's default. */
  setAppCmds(name: string, cmds: readonly string[]): void {
    const app = this.app(name);
    this.apps.set(name, { ...app, cmds });
  }

  /** APPENV: variables for one app, later values winning. */
  addAppEnv(name: string, pairs: readonly (readonly [string, string])[]): void {
    const app = this.app(name);
    this.apps.set(name, { ...app, env: { ...(app.env ?? {}), ...Object.fromEntries(pairs) } });
  }

  setLaunch(apps: readonly string[]): void {
    this.launchApps = apps;
  }

  setCmds(cmds: readonly string[]): void {
    this.cmds = cmds;
  }

  /** A v0.8-style CMD was given: the launch becomes the image's CMDs (and CMDS, if any). */
  noteCmd(): void {
    this.ownCmd = true;
  }

  /**
   * The extension. The launch is this Kubefile's LAUNCH; else its CMDs (all of them, the base
   * image's v0.8-style ones first, as `run` replays them) followed by CMDS; else the base image's
   * launch; else the inherited CMDs. `env` is the image's ENV over the base extension's env.
   */
  extension(type: SealerImageType, client: BuildClient, env: ReadonlyMap<string, string>, allCmds: readonly string[]): SealerImageExtension {
    let launch: SealerLaunch;
    if (this.launchApps) launch = { appNames: this.launchApps };
    else if (this.cmds || this.ownCmd) launch = { cmds: [...allCmds, ...(this.cmds ?? [])] };
    else if (this.baseLaunch && (this.baseLaunch.cmds?.length || this.baseLaunch.appNames?.length)) launch = this.baseLaunch;
    else launch = allCmds.length > 0 ? { cmds: allCmds } : {};
    return {
      buildClient: client,
      schemaVersion: SEALER_SCHEMA_VERSION,
      type,
      applications: [...this.apps.values()],
      env: { ...this.baseEnv, ...Object.fromEntries(env) },
      launch,
    };
  }

  /**
   * The container image list: the base image's entries, then this build's collected images for
   * `platform`, each with the app whose directory named it (sealer records one app per image).
   */
  containerImages(collected: readonly CollectedImage[], platform: Platform): SealerContainerImage[] {
    const p: SealerPlatform = {
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
    };
    const out: SealerContainerImage[] = [];
    const seen = new Set<string>();
    const add = (c: SealerContainerImage): void => {
      const key = JSON.stringify([c.image, c.appName ?? '', c.platform ?? null]);
      if (seen.has(key)) return;
      seen.add(key);
      out.push(c);
    };
    for (const c of this.baseImages) add(c);
    for (const img of collected) {
      const apps = [...new Set(img.sources.map(appOfSource).filter((a): a is string => a !== undefined))];
      if (apps.length === 0) add({ image: img.reference, platform: p });
      for (const appName of apps) add({ image: img.reference, appName, platform: p });
    }
    return out;
  }

  /** Both annotations, as sealer v0.11 writes them. */
  annotations(ext: SealerImageExtension, images: readonly SealerContainerImage[]): Record<string, string> {
    return sealerAnnotations(ext, images);
  }

  private app(name: string): SealerApplication {
    const app = this.apps.get(name);
    // checkAppReferences refused the Kubefile already; this is a guard, not a user error.
    if (!app) throw new Error(`app ${name} is not declared`);
    return app;
  }
}

/** The app a collected image's source file belongs to (`application/apps/<name>/...`). */
function appOfSource(source: string): string | undefined {
  const prefix = `${APP_DIR}/`;
  if (!source.startsWith(prefix)) return undefined;
  const name = source.slice(prefix.length).split('/')[0];
  return name ? name : undefined;
}
