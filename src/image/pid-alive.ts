/** True when a process with this pid exists (signal 0 probes without sending anything). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid a temp name made by `tempName` (or `.incoming-<pid>-…`) starts with, or undefined. */
export function pidOfTempName(name: string): number | undefined {
  const m = /^\.?(?:[a-z]+-)?(\d+)-/.exec(name);
  return m ? Number(m[1]) : undefined;
}
