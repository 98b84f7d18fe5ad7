/**
 * Watches one file from a separate process that stats it in a tight loop, to prove that
 * a replacement is atomic: every observation is a whole old or new file (by inode and
 * size), and the path never goes missing. A child process keeps polling while this
 * process's event loop is busy with the install itself.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** What the watcher saw between start and stop. */
export interface FileWatchReport {
  /** Times the path did not exist. */
  missing: number;
  /** `<inode>:<size>` → how often that state was seen. */
  states: Map<string, number>;
}

/** A running watcher; stop() ends it and returns what it saw. */
export interface FileWatch {
  stop(): Promise<FileWatchReport>;
}

const WATCHER = `
const fs = require('node:fs');
const path = process.argv[1];
let stop = false;
process.stdin.on('end', () => (stop = true)).resume();
const states = new Map();
let missing = 0;
function burst() {
  for (let i = 0; i < 2000; i++) {
    try {
      const s = fs.statSync(path);
      const key = s.ino + ':' + s.size;
      states.set(key, (states.get(key) || 0) + 1);
    } catch {
      missing++;
    }
  }
  if (stop) process.stdout.write(JSON.stringify({ missing, states: [...states] }));
  else setImmediate(burst);
}
process.stdout.write('ready\\n');
burst();
`;

/** Starts watching `path`; resolves once the watcher is polling. */
export async function watchFile(path: string): Promise<FileWatch> {
  const child = spawn(process.execPath, ['-e', WATCHER, path], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      if (output.startsWith('ready\n')) resolve();
    });
  });
  return {
    async stop() {
      const exited = once(child, 'close');
      child.stdin.end();
      await exited;
      const report = JSON.parse(output.slice('ready\n'.length)) as {
        missing: number;
        states: [string, number][];
      };
      return { missing: report.missing, states: new Map(report.states) };
    },
  };
}
