import { describe, expect, it } from 'vitest';
import type { DriftCheck } from './api-types.js';
import { checkProgress, exitCodeForCheck, renderCheck } from './render-check.js';

const check = (hosts: DriftCheck['hosts'], status: DriftCheck['status'] = 'done'): DriftCheck => ({
  id: 'c1',
  environment: 'acme-prd',
  status,
  trigger: 'api',
  requestedBy: 'bob',
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: status === 'done' ? '2026-01-01T00:00:05.000Z' : null,
  total: 3,
  hosts,
});

const ok = (frontEnd: string): DriftCheck['hosts'][number] => ({
  frontEnd,
  host: `10.0.0.${frontEnd.slice(-1)}`,
  certificates: [{ name: 'acme', state: 'ok', detail: 'as installed: /srv/acme.pfx' }],
});

describe('fleetctl check output', () => {
  it('shows hosts done of the total while the check runs', () => {
    expect(checkProgress(check([ok('fe-1')], 'running'))).toBe('acme-prd: check c1 running, 1/3 hosts done');
  });

  it('prints a row per front-end and certificate and names the front-ends not ok', () => {
    const lines = renderCheck(
      check([
        ok('fe-1'),
        {
          frontEnd: 'fe-2',
          host: '10.0.0.2',
          certificates: [{ name: 'acme', state: 'missing', detail: 'file absent: /srv/acme.pfx\u001b[31m' }],
        },
        { frontEnd: 'fe-3', host: '10.0.0.3', certificates: [] },
      ]),
    );
    expect(lines).toEqual([
      'FRONT-END        CERTIFICATE  STATE    DETAIL',
      'fe-1 (10.0.0.1)  acme         ok       as installed: /srv/acme.pfx',
      'fe-2 (10.0.0.2)  acme         missing  file absent: /srv/acme.pfx [31m',
      'fe-3 (10.0.0.3)  -            -        no certificate in the registry',
      '',
      'acme-prd: 1 not ok on 1 of 3 front-ends: fe-2',
    ]);
  });

  it('exits 0 when all is ok, 6 on anything missing or different, 7 when only unreachable hosts stand out', () => {
    const state = (s: 'ok' | 'missing' | 'different' | 'unreachable'): DriftCheck['hosts'][number] => ({
      frontEnd: 'fe-9',
      host: '10.0.0.9',
      certificates: [{ name: 'acme', state: s, detail: '' }],
    });
    expect(exitCodeForCheck(check([ok('fe-1')]))).toBe(0);
    expect(exitCodeForCheck(check([ok('fe-1'), state('different')]))).toBe(6);
    expect(exitCodeForCheck(check([state('unreachable'), state('missing')]))).toBe(6);
    expect(exitCodeForCheck(check([ok('fe-1'), state('unreachable')]))).toBe(7);
  });
});
