import { describe, expect, it } from 'vitest';
import { renderDoctor } from './render-doctor.js';

describe('renderDoctor', () => {
  it('shows one row per check, FAIL where a check failed, and names the front-ends that need attention', () => {
    const lines = renderDoctor({
      environment: 'acme-stg',
      platform: 'windows',
      ok: false,
      hosts: [
        {
          frontEnd: 'fe-1',
          host: '10.0.0.1',
          port: 22,
          ok: true,
          checks: [{ check: 'host_key', ok: true, detail: 'matches the pin' }],
        },
        {
          frontEnd: 'fe-2',
          host: '10.0.0.2',
          port: 22,
          ok: false,
          checks: [{ check: 'reader', ok: false, detail: 'IIS AppPool\\Shop does not resolve\u001b[31m' }],
        },
      ],
    });
    expect(lines).toEqual([
      'FRONT-END           CHECK     RESULT  DETAIL',
      'fe-1 (10.0.0.1:22)  host_key  ok      matches the pin',
      'fe-2 (10.0.0.2:22)  reader    FAIL    IIS AppPool\\Shop does not resolve [31m',
      '',
      'acme-stg: 1 of 2 front-ends need attention: fe-2',
    ]);
  });
});
