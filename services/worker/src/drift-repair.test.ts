import type { DriftFinding } from '@certfleet/contract';
import { describe, expect, it } from 'vitest';
import { driftRepairs } from './drift-repair.js';

const finding = (name: string, frontEnd: string, state: DriftFinding['state']): DriftFinding => ({
  name,
  frontEnd,
  host: `10.0.0.${frontEnd.slice(3)}`,
  state,
  detail: `${state} detail`,
});

describe('driftRepairs', () => {
  it('asks for one repair per certificate, for its missing and different hosts, naming them in the reason', () => {
    const { requests, leftAlone } = driftRepairs(
      'chk1',
      [
        finding('a', 'fe-1', 'missing'),
        finding('a', 'fe-3', 'different'),
        finding('b', 'fe-2', 'different'),
        finding('a', 'fe-4', 'missing'),
      ],
      new Map(),
    );
    expect(leftAlone).toEqual([]);
    expect(
      requests.map(({ name, frontEnds, reason }) => ({ name, frontEnds, reason: reason(frontEnds) })),
    ).toEqual([
      {
        name: 'a',
        frontEnds: ['fe-1', 'fe-3', 'fe-4'],
        reason: 'drift check chk1: missing on fe-1, fe-4; different on fe-3',
      },
      { name: 'b', frontEnds: ['fe-2'], reason: 'drift check chk1: different on fe-2' },
    ]);
  });

  it('gives a repair of some of the hosts (the others already under repair) the reason seen on those alone', () => {
    const [a] = driftRepairs(
      'chk4',
      [finding('a', 'fe-1', 'missing'), finding('a', 'fe-2', 'different'), finding('a', 'fe-3', 'different')],
      new Map(),
    ).requests;
    expect(a!.reason(['fe-2'])).toBe('drift check chk4: different on fe-2');
    expect(a!.reason(['fe-1', 'fe-3'])).toBe('drift check chk4: missing on fe-1; different on fe-3');
  });

  it('asks nothing for an unreachable host: it is not known to be wrong', () => {
    const { requests } = driftRepairs(
      'chk2',
      [
        finding('a', 'fe-1', 'unreachable'),
        finding('b', 'fe-1', 'unreachable'),
        finding('b', 'fe-2', 'missing'),
      ],
      new Map(),
    );
    expect(requests.map((r) => [r.name, r.frontEnds, r.reason(r.frontEnds)])).toEqual([
      ['b', ['fe-2'], 'drift check chk2: missing on fe-2'],
    ]);
  });

  it('leaves alone a certificate a job is changing, naming that job, and repairs the others', () => {
    const { requests, leftAlone } = driftRepairs(
      'chk3',
      [finding('a', 'fe-1', 'different'), finding('b', 'fe-1', 'missing')],
      new Map([['a', 'job-rotating-a']]),
    );
    expect(leftAlone).toEqual([{ name: 'a', frontEnds: ['fe-1'], jobId: 'job-rotating-a' }]);
    expect(requests.map((r) => r.name)).toEqual(['b']);
  });
});
