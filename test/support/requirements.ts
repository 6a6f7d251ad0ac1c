import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';

/**
 * True under CI: any non-empty `CI` (`true`, `1`, `yes`, ... as CI services set it), as most
 * tools read it. Only `CI` unset or empty is a developer's machine.
 */
export function inCI(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.CI ?? '') !== '';
}

/**
 * Tests that need a real component (a binary, root, a running dockerd) call these first.
 * Outside CI a missing requirement skips the test with the reason; under CI (any non-empty `CI`)
 * it fails the test, so a green CI can never hide a tier that did not run.
 */
export function missingRequirement(t: TestContext, reason: string): void {
  if (inCI()) {
    throw new Error(`requirement missing in CI: ${reason}`);
  }
  t.skip(reason);
}

/** Returns true when `name` is on PATH; otherwise skips (or fails in CI) and returns false. */
export function requireBinary(t: TestContext, name: string): boolean {
  if (hasBinary(name)) return true;
  missingRequirement(t, `${name} not found on PATH`);
  return false;
}

/** True when `name` is on PATH. */
export function hasBinary(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Returns true when running as root; otherwise skips (or fails in CI). */
export function requireRoot(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true;
  missingRequirement(t, 'needs root');
  return false;
}
