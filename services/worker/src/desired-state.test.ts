import { createHash } from 'node:crypto';
import type { EnvCertificate, JobRecord, TargetRecord } from '@certfleet/store';
import { describe, expect, it } from 'vitest';
import { desiredState } from './desired-state.js';
import { expectedFromRegistry } from './drift-check.js';

const hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const pfx = Buffer.from('pfx bytes');
const ca = [Buffer.from('issuer'), Buffer.from('root ca')];

const record = {
  id: 'job-1',
  ticket: 'CASE-1',
  name: 'acme',
  submittedBy: 'alice',
  paths: { 'acme-prd': 'D:\\Certificates\\acme.pfx' },
  certificate: { fingerprintSha256: 'f1', subject: 'CN=acme', notAfter: '2030-01-01T00:00:00.000Z' },
} as unknown as JobRecord;
const installed = {
  path: 'D:\\Certificates\\acme.pfx',
  thumbprint: 'AB12',
  store: 'LocalMachine\\My',
} as TargetRecord;
const AT = '2026-01-01T00:00:00.000Z';

describe('the desired state a finished job records', () => {
  it('holds the hashes and sizes of the bytes written, the CA files beside the .pfx, the store entry, requester and ticket', () => {
    expect(
      desiredState(record, 'acme-prd', installed, { pfx, password: 'x', caChain: ca }, undefined, AT),
    ).toEqual({
      name: 'acme',
      fingerprintSha256: 'f1',
      subject: 'CN=acme',
      notAfter: '2030-01-01T00:00:00.000Z',
      path: 'D:\\Certificates\\acme.pfx',
      jobId: 'job-1',
      installedAt: AT,
      sha256: hex(pfx),
      size: pfx.length,
      caFiles: [
        { path: 'D:\\Certificates\\acme.ca1.cer', sha256: hex(ca[0]!), size: ca[0]!.length },
        { path: 'D:\\Certificates\\acme.ca2.cer', sha256: hex(ca[1]!), size: ca[1]!.length },
      ],
      thumbprint: 'AB12',
      store: 'LocalMachine\\My',
      requester: 'alice',
      ticket: 'CASE-1',
    });
  });

  it('keeps the file facts of the same certificate when the secret is already gone, and drops another certificate’s', () => {
    const previous = {
      fingerprintSha256: 'f1',
      sha256: 'aa',
      size: 3,
      caFiles: [],
    } as unknown as EnvCertificate;
    expect(desiredState(record, 'acme-prd', installed, undefined, previous, AT)).toMatchObject({
      sha256: 'aa',
      size: 3,
      caFiles: [],
    });
    const other = desiredState(
      record,
      'acme-prd',
      installed,
      undefined,
      { ...previous, fingerprintSha256: 'f0' },
      AT,
    );
    expect(other).not.toHaveProperty('sha256');
    expect(other).not.toHaveProperty('caFiles');
  });
});

describe('a registry entry as the drift probe expects it', () => {
  const entry = desiredState(
    record,
    'acme-prd',
    installed,
    { pfx, password: 'x', caChain: ca },
    undefined,
    AT,
  );

  it('carries the hashes, sizes and thumbprint, the CA files in chain order', () => {
    expect(expectedFromRegistry(entry, 'windows')).toEqual({
      name: 'acme',
      sha256: hex(pfx),
      size: pfx.length,
      caFiles: ca.map((b) => ({ sha256: hex(b), size: b.length })),
      thumbprint: 'AB12',
    });
  });

  it('is nothing for an entry written before the desired state held hashes, or a Windows one without thumbprint', () => {
    const { sha256: _sha, size: _size, ...old } = entry;
    expect(expectedFromRegistry(old, 'linux')).toBeUndefined();
    const { thumbprint: _t, ...noThumbprint } = entry;
    expect(expectedFromRegistry(noThumbprint, 'windows')).toBeUndefined();
    expect(expectedFromRegistry(noThumbprint, 'linux')).toMatchObject({ name: 'acme' });
  });
});

describe('the previous version a finished job records', () => {
  const secret = { pfx, password: 'x', caChain: ca };
  const older = {
    name: 'acme',
    fingerprintSha256: 'f0',
    jobId: 'job-0',
    thumbprint: 'OLD0',
  } as EnvCertificate;

  it('a job for another certificate (a rotation or a rollback) keeps the entry it replaces as previous, without its own previous', () => {
    const current = { ...older, previous: { ...older, fingerprintSha256: 'f-1', jobId: 'job--1' } };
    const entry = desiredState(record, 'acme-prd', installed, secret, current, AT);
    expect(entry.previous).toEqual(older);
  });

  it('a job for the same certificate (a retry round, a repair) keeps the entry’s own previous', () => {
    const current = desiredState(record, 'acme-prd', installed, secret, older, AT);
    expect(desiredState(record, 'acme-prd', installed, secret, current, AT).previous).toEqual(older);
    expect(desiredState(record, 'acme-prd', installed, secret, undefined, AT).previous).toBeUndefined();
  });
});
