import { describe, expect, it } from 'vitest';
import { parseInventory, planInstall, UnknownEnvironmentError } from './index.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const inventory = (hosts: number): ReturnType<typeof parseInventory> =>
  parseInventory(`
defaults:
  ssh: { username: fleet, privateKeyPath: /etc/certfleet/id_ed25519 }
environments:
  - name: prd
    platform: linux
    installDir: /srv/fleet-certs
    frontEnds:
${Array.from({ length: hosts }, (_, i) => `      - { name: fe-${i + 1}, host: 127.0.10.${i + 1}, hostKey: ${KEY} }`).join('\n')}
`);

describe('planInstall', () => {
  it('plans every front-end, or only the hosts a repair names, each hash binding to its own hosts', () => {
    const all = planInstall(inventory(3), ['prd'], 'acme', 'fp', 'sha');
    expect(all.targets.map((t) => t.id)).toEqual(['prd/fe-1', 'prd/fe-2', 'prd/fe-3']);
    const repair = planInstall(inventory(3), ['prd'], 'acme', 'fp', 'sha', new Set(['prd/fe-3']));
    expect(repair.targets.map((t) => t.id)).toEqual(['prd/fe-3']);
    expect(repair.paths).toEqual({ prd: '/srv/fleet-certs/acme.pfx' });
    expect(repair.hash).not.toBe(all.hash);
    // a front-end added elsewhere in the environment does not move a repair's hash; it moves the full plan's
    expect(planInstall(inventory(4), ['prd'], 'acme', 'fp', 'sha', new Set(['prd/fe-3'])).hash).toBe(
      repair.hash,
    );
    expect(planInstall(inventory(4), ['prd'], 'acme', 'fp', 'sha').hash).not.toBe(all.hash);
  });

  it('refuses an environment the inventory does not hold', () => {
    expect(() => planInstall(inventory(1), ['qa'], 'acme', 'fp', 'sha')).toThrow(UnknownEnvironmentError);
  });
});
