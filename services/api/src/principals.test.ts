import { describe, expect, it } from 'vitest';
import { authenticate, hasRole, parsePrincipals, PrincipalsError, sha256Hex } from './principals.js';

const yaml = `
principals:
  - { name: alice, roles: [operator], tokenSha256: ${sha256Hex('tok-alice')} }
  - { name: bob, roles: [approver], tokenSha256: ${sha256Hex('tok-bob').toUpperCase()} }
  - { name: root, roles: [admin], tokenSha256: ${sha256Hex('tok-root')} }
`;

describe('principals', () => {
  it('authenticates by token hash', () => {
    const principals = parsePrincipals(yaml, 'auth.yaml');
    expect(authenticate(principals, 'tok-bob')?.name).toBe('bob');
    expect(authenticate(principals, 'tok-alice')?.name).toBe('alice');
    expect(authenticate(principals, 'tok-nobody')).toBeUndefined();
    expect(authenticate(principals, '')).toBeUndefined();
  });

  it('gives admin every role', () => {
    const [alice, bob, root] = parsePrincipals(yaml, 'auth.yaml');
    expect(hasRole(alice!, ['approver'])).toBe(false);
    expect(hasRole(bob!, ['approver'])).toBe(true);
    expect(hasRole(root!, ['operator'])).toBe(true);
  });

  it('refuses bad files naming the field', () => {
    expect(() => parsePrincipals(yaml.replace(sha256Hex('tok-root'), 'abc'), 'auth.yaml')).toThrow(
      /^auth\.yaml: principals\[2\]\.tokenSha256: .*sha256sum/,
    );
    expect(() => parsePrincipals(yaml.replace('name: bob', 'name: alice'), 'auth.yaml')).toThrow(
      "auth.yaml: principals[1].name: duplicate 'alice'",
    );
    expect(() => parsePrincipals(yaml.replace('[approver]', '[boss]'), 'auth.yaml')).toThrow(PrincipalsError);
    expect(() =>
      parsePrincipals(yaml.replace(sha256Hex('tok-root'), sha256Hex('tok-alice')), 'auth.yaml'),
    ).toThrow(/same token/);
  });
});

describe('four eyes across ways in', () => {
  it('treats a ticket requester and an API principal of the same name as one person', async () => {
    const { samePerson } = await import('./jobs-service.js');
    expect(samePerson('ticket:alice', 'alice')).toBe(true);
    expect(samePerson('ticket:Dave@x', 'ticket:dave@x')).toBe(true);
    expect(samePerson('alice', 'bob')).toBe(false);
    expect(samePerson('ticket-webhook', 'alice')).toBe(false);
  });
});
