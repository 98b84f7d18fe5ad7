import type { ChildProcess } from 'node:child_process';

/** Child processes started by test helpers that must not outlive the test process. */
const live = new Set<ChildProcess>();
let hooked = false;

/** Kills `child` (SIGKILL) if it is still running when this process exits. */
export function killOnExit(child: ChildProcess): void {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const c of live) {
        try {
          c.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}
