/**
 * Many jobs for the same front-ends at once, through the HTTP API with real Redis,
 * BullMQ and real sshd: jobs finish in the order they were approved, and the worker
 * serves a host's queued targets over one SSH connection instead of one handshake each.
 * The hosts' own sshd logs (LogLevel VERBOSE) count the connections.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  fleetEnvironments,
  startStack,
  type Stack,
  startFleet,
  type Fleet,
  type FleetHost,
} from '@certfleet/test-kit';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const HOSTS = 3;
const JOBS = 8;
/** More slots than hosts: without per-host lanes, targets would bounce through BullMQ's delayed set. */
const CONCURRENCY = 4;

let fleet: Fleet;
let stack: Stack | undefined;
let certs: DemoCertificates;

beforeAll(async () => {
  fleet = await startFleet({ count: HOSTS });
  certs = makeDemoCertificates('order-client');
});

afterAll(async () => {
  await stack?.stop();
  await fleet?.stop();
});

async function logOf(h: FleetHost): Promise<string> {
  return readFile(h.logFile, 'utf8');
}

/** Client ports of authenticated connections in `log`, and those that ended. */
function connections(log: string): { opened: string[]; ended: Set<string> } {
  const opened = [...log.matchAll(/Accepted publickey for \S+ from \S+ port (\d+)/g)].map((m) => m[1]!);
  const ended = new Set(
    [
      ...log.matchAll(
        /(?:Received disconnect from|Disconnected from user \S+|Connection closed by|Connection reset by) \S+ port (\d+)/g,
      ),
    ].map((m) => m[1]!),
  );
  return { opened, ended };
}

describe('many jobs for the same front-ends', () => {
  it('finish in the order they were approved, each host serving its queued targets on one connection', async () => {
    stack = await startStack({
      environments: fleetEnvironments(fleet, { shared: HOSTS }),
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
      env: { FLEET_CONCURRENCY: String(CONCURRENCY) },
    });
    const s = stack;
    const logFrom = await Promise.all(fleet.hosts.map(async (h) => (await logOf(h)).length));
    // submitted first, approved one after the other: the approval order is the queue order
    const submitted: string[] = [];
    for (let i = 1; i <= JOBS; i++) {
      const res = await s.request('alice', 'POST', '/v1/jobs', {
        ticket: `ORDER-${i}`,
        name: `order-${i}`,
        environments: ['shared'],
        pfx: certs.pfx.toString('base64'),
        password: certs.password,
        caCertificates: [certs.caPem],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      submitted.push(res.body.id as string);
    }
    for (const id of submitted)
      expect((await s.request('bob', 'POST', `/v1/jobs/${id}/approve`)).status).toBe(202);
    const finals: Json[] = await Promise.all(submitted.map((id) => s.waitForJob(id, 120_000)));
    expect(finals.map((j) => j.status)).toEqual(submitted.map(() => 'completed'));
    for (const h of fleet.hosts) {
      for (let i = 1; i <= JOBS; i++) {
        const pfx = await readFile(path.join(h.dir, `order-${i}.pfx`));
        expect(pfx.equals(certs.pfx), `${h.name}: order-${i}.pfx`).toBe(true);
      }
    }

    // every host installed every job's file in approval order (the target's finishedAt)
    for (const frontEnd of fleet.hosts.map((_, i) => `fe-${i + 1}`)) {
      const finished = finals.map((j) =>
        Date.parse(j.targets.find((t: Json) => t.frontEnd === frontEnd).finishedAt),
      );
      expect(finished, frontEnd).toEqual([...finished].sort((a, b) => a - b));
    }
    // and the jobs completed in that order (the audit stream is ordered)
    const audit = await s.request('bob', 'GET', '/v1/audit');
    const completed = (audit.body.items as Json[])
      .filter((e) => e.action === 'job.completed' && submitted.includes(e.jobId))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((e) => e.jobId);
    expect(completed).toEqual(submitted);

    for (const [i, h] of fleet.hosts.entries()) {
      const { opened } = connections((await logOf(h)).slice(logFrom[i]));
      // JOBS installs on this host, fewer handshakes: queued targets shared a connection
      expect(opened.length, `${h.name}: connections for ${JOBS} installs`).toBeLessThan(JOBS);
      expect(opened.length).toBeGreaterThanOrEqual(1);
    }

    // after shutdown no connection of the worker is left open on any host
    await s.stop();
    stack = undefined;
    await sleep(200);
    for (const [i, h] of fleet.hosts.entries()) {
      const { opened, ended } = connections((await logOf(h)).slice(logFrom[i]));
      expect(
        opened.filter((port) => !ended.has(port)),
        `${h.name}: connections still open`,
      ).toEqual([]);
    }
  });
});
