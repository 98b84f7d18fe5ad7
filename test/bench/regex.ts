/**
 * `npm run bench:regex`: the worst time of every input pattern (README: regex
 * rule) on adversarial inputs of 200 000 characters (the 400 KB body of issue
 * 10), next to the base64 pattern that issue found. Prints figures; never fails
 * on time. Needs Redis (it reads the running API's /docs/json).
 */
import { performance } from 'node:perf_hooks';
import { startApiServer } from '../support/api-server.js';
import { openApiInputs, otherInputPatterns, type InputPattern } from '../support/input-patterns.js';

const LENGTH = Number(process.env['BENCH_REGEX_LENGTH'] ?? 200_000);
/** Characters that some pattern repeats, pumped one at a time. */
const PUMPS = ['a', 'Z', '0', '-', '.', '_', '/', '+', '=', ':', '@', ' ', '\n', '\r', '\\', '\x21'];
/** Prefixes that get past a pattern's literal start. */
const PREFIXES = [
  '',
  'a',
  '/',
  'D:\\',
  'Bearer ',
  'Basic ',
  't=1,v1=',
  'SHA256:',
  'ssh-ed25519 AAAA',
  'http://',
];
const SUFFIXES = ['!', '\x00', ''];

interface Worst {
  ms: number;
  input: string;
}

function worstCase(p: Pick<InputPattern, 'source' | 'flags'>): Worst {
  const re = new RegExp(p.source, p.flags);
  let worst: Worst = { ms: 0, input: '' };
  for (const prefix of PREFIXES) {
    for (const pump of PUMPS) {
      for (const suffix of SUFFIXES) {
        const input = prefix + pump.repeat(LENGTH) + suffix;
        const start = performance.now();
        re.test(input);
        const ms = performance.now() - start;
        if (ms > worst.ms)
          worst = {
            ms,
            input: `${JSON.stringify(prefix)} + ${JSON.stringify(pump)} × ${LENGTH} + ${JSON.stringify(suffix)}`,
          };
      }
    }
  }
  return worst;
}

const api = await startApiServer();
try {
  const doc = (await (await fetch(`${api.url}/docs/json`)).json()) as Parameters<typeof openApiInputs>[0];
  const patterns = [...openApiInputs(doc).patterns, ...otherInputPatterns()];
  console.log(
    `${patterns.length} patterns, ${PREFIXES.length * PUMPS.length * SUFFIXES.length} inputs of ${LENGTH} characters each`,
  );
  const rows = patterns.map((p) => ({ ...p, ...worstCase(p) })).sort((a, b) => b.ms - a.ms);
  for (const row of rows) {
    console.log(
      `${row.ms.toFixed(2).padStart(9)} ms  ${row.where}  /${row.source}/${row.flags}  worst: ${row.input}`,
    );
  }
  const before = { source: '^[A-Za-z0-9+/\\r\\n]*={0,2}[\\r\\n]*$', flags: 'u' };
  const old = worstCase(before);
  console.log(
    `\nbaseline: the pfx pattern before issue 10, /${before.source}/: ${old.ms.toFixed(0)} ms (${old.input})`,
  );
  const slowest = rows[0];
  if (slowest)
    console.log(
      `ratio baseline / slowest pattern now: ${(old.ms / Math.max(slowest.ms, 0.001)).toFixed(0)}×`,
    );
} finally {
  await api.stop();
}
