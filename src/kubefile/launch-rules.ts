import { KubefileError } from './errors.js';
import type { Instruction } from './instructions.js';
import type { KubefileWarning } from './parser.js';

/**
 * The rules sealer v0.11 puts on the application instructions across lines
 * (build/kubefile/parser/kubefile.go), without its gaps: LAUNCH and CMDS at most once and only
 * as the last instruction; CMD beside CMDS is deprecated (a warning), CMD with LAUNCH an error;
 * an app name declared once per file (sealer silently let the later APP win) and one APPCMDS per
 * app (sealer kept the last). Errors name the line to fix.
 */
export function checkLaunchRules(instructions: readonly Instruction[], file: string, warnings: KubefileWarning[]): void {
  const apps = new Map<string, number>();
  const appCmds = new Map<string, number>();
  const cmdLines: number[] = [];
  let final: Instruction | undefined;
  for (const ins of instructions) {
    const line = ins.location.startLine;
    const fail = (at: number, reason: string): never => {
      throw new KubefileError(file, at, reason);
    };
    if (final !== undefined) {
      if (final.kind === ins.kind) {
        fail(line, `second ${ins.kind} (the first is on line ${final.location.startLine}); a Kubefile has at most one`);
      }
      fail(final.location.startLine, `${final.kind} must be the last instruction, but ${ins.kind} on line ${line} comes after it`);
    }
    switch (ins.kind) {
      case 'APP': {
        const first = apps.get(ins.name);
        if (first !== undefined) fail(line, `app ${ins.name} is already declared on line ${first}`);
        apps.set(ins.name, line);
        break;
      }
      case 'APPCMDS': {
        const first = appCmds.get(ins.app);
        if (first !== undefined) fail(line, `APPCMDS for ${ins.app} is already given on line ${first}`);
        appCmds.set(ins.app, line);
        break;
      }
      case 'CMD':
        cmdLines.push(line);
        break;
      case 'LAUNCH':
        if (cmdLines.length > 0) {
          fail(line, `LAUNCH cannot be combined with CMD (line ${cmdLines[0]}): launch apps with LAUNCH, or run commands with CMDS`);
        }
        final = ins;
        break;
      case 'CMDS':
        for (const at of cmdLines) {
          warnings.push({ line: at, text: 'CMD is deprecated beside CMDS: move this command into CMDS (CMD commands run before the CMDS ones)' });
        }
        final = ins;
        break;
      default:
        break;
    }
  }
}
