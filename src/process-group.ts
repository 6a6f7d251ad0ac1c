/**
 * SIGKILLs the process group led by `pid`: a child spawned with `detached: true` leads its own
 * group, so this reaches the command and everything it started (a shell's `sleep`, helm's
 * plugins), which killing the child alone would leave running. A group already gone is fine.
 */
export function killProcessGroup(pid: number | undefined): void {
  if (pid === undefined || pid <= 0) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group has already exited.
  }
}
