import { describe, expect, it } from 'vitest';
import { parseInventory, planCanary, planInstall } from './index.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const env = (name: string, extra: string, hosts: number, first: number): string => `
  - name: ${name}
    platform: linux
    installDir: /srv/fleet-certs
${extra}
    frontEnds:
${Array.from({ length: hosts }, (_, i) => `      - { name: fe-${i + 1}, host: 127.0.10.${first + i}, hostKey: ${KEY} }`).join('\n')}`;

const inventory = parseInventory(`
defaults:
  ssh: { username: fleet, privateKeyPath: /etc/certfleet/id_ed25519 }
environments:${env('prd', '    rollout: canary', 3, 1)}${env('qa', '    canary: { continue: auto }', 2, 4)}${env(
  'dr',
  '    rollout: canary\n    canary: { continue: auto }',
  2,
  6,
)}
`);
const targets = (envs: string[]) => planInstall(inventory, envs, 'acme', 'fp', 'sha').targets;

describe('planCanary', () => {
  it("takes each canary environment's first front-end in inventory order; the others go at once", () => {
    expect(planCanary(inventory, targets(['prd', 'qa']), undefined)).toEqual({
      targets: ['prd/fe-1'],
      continue: 'approve',
      round: 1,
      continuedBy: null,
    });
    expect(planCanary(inventory, targets(['qa']), undefined)).toBeUndefined();
  });

  it("lets a job's rollout override every environment's, both ways", () => {
    expect(planCanary(inventory, targets(['prd', 'qa']), 'canary')?.targets).toEqual(['prd/fe-1', 'qa/fe-1']);
    expect(planCanary(inventory, targets(['prd', 'dr']), 'all')).toBeUndefined();
  });

  it('continues by itself only when every canary environment says continue: auto', () => {
    expect(planCanary(inventory, targets(['dr']), undefined)?.continue).toBe('auto');
    expect(planCanary(inventory, targets(['qa', 'dr']), 'canary')?.continue).toBe('auto');
    expect(planCanary(inventory, targets(['prd', 'dr']), undefined)?.continue).toBe('approve');
  });

  it('refuses an unknown rollout in the inventory with the field', () => {
    expect(() =>
      parseInventory(`
defaults:
  ssh: { username: fleet, privateKeyPath: /k }
environments:${env('prd', '    rollout: some', 1, 1)}
`),
    ).toThrow(/environments\[0\]\.rollout|rollout/);
  });
});
