import { KubefileError } from './errors.js';
import type { Kubefile } from './instructions.js';

/**
 * Checks that APPCMDS, APPENV and LAUNCH name apps that exist where they stand: declared by an
 * APP, CNI or CSI on an earlier line, or inherited from the base image (`inherited`: the names in
 * the base's `sealer.image.extension`). sealer v0.11 refuses the same Kubefiles. The parser runs
 * this itself when FROM is `scratch`; for any other base, the build runs it once it has read the
 * base image. Throws a {@link KubefileError} naming the line.
 */
export function checkAppReferences(kubefile: Kubefile, inherited: Iterable<string>): void {
  const known = new Set(inherited);
  const where = known.size > 0 ? 'neither declared on an earlier line nor in the base image' : 'not declared on an earlier line';
  for (const ins of kubefile.instructions) {
    const { file, startLine } = ins.location;
    const missing = (app: string): never => {
      throw new KubefileError(
        file,
        startLine,
        `${ins.kind} names app ${app}, which is ${where}: declare it first with APP ${app} local://...`,
      );
    };
    switch (ins.kind) {
      case 'APP':
        known.add(ins.name);
        break;
      case 'APPCMDS':
      case 'APPENV':
        if (!known.has(ins.app)) missing(ins.app);
        break;
      case 'LAUNCH':
        for (const app of ins.apps) if (!known.has(app)) missing(app);
        break;
      default:
        break;
    }
  }
}
