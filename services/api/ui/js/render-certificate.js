// @ts-check
// The "Certificate" card: the summary intake read from the PFX, with its warnings on top.

/** @import { CertificateSummary, PfxEncryption } from './wire-types.js' */
import { $, facts, h, show } from './dom.js';
import { DAY_MS, days, fmtTime } from './format.js';

const EXPIRY_SOON_DAYS = 30;

/**
 * A badge saying how long the certificate is valid for, or why it is not.
 * @param {{ notAfter: string, notBefore?: string }} cert
 */
export function expiry(cert) {
  const now = Date.now();
  const from = cert.notBefore === undefined ? Number.NaN : Date.parse(cert.notBefore);
  const to = Date.parse(cert.notAfter);
  if (Number.isNaN(to)) return h('span', { class: 'badge bad', text: 'unknown expiry' });
  if (to <= now) return h('span', { class: 'badge bad', text: `EXPIRED ${days(now - to)} ago` });
  if (!Number.isNaN(from) && from > now)
    return h('span', { class: 'badge bad', text: `not valid yet: starts in ${days(from - now)}` });
  const left = to - now;
  return h('span', {
    class: left < EXPIRY_SOON_DAYS * DAY_MS ? 'badge warn' : 'badge ok',
    text: `expires in ${days(left)}`,
  });
}

/** @param {PfxEncryption | undefined} e */
function encryption(e) {
  if (!e) return h('span', { class: 'muted', text: 'unknown' });
  const parts = [`key ${e.key}`, `certificates ${e.certificates}`, `MAC ${e.mac}`];
  if (e.iterations) parts.push(`${e.iterations} iterations`);
  return h('span', { text: parts.join(' · ') });
}

/** Fills the certificate card. @param {CertificateSummary} cert */
export function renderCertificate(cert) {
  const warnings = cert.warnings;
  const box = $('cert-warnings');
  box.replaceChildren();
  if (warnings.length > 0) {
    box.append(
      h('strong', { text: warnings.length === 1 ? '1 warning' : `${warnings.length} warnings` }),
      h(
        'ul',
        {},
        warnings.map((w) => h('li', { text: w })),
      ),
    );
  }
  show(box, warnings.length > 0);

  const normalized = cert.normalized
    ? [
        h('span', { class: 'badge warn', text: 'yes' }),
        ' re-encoded by certfleet from ',
        encryption(cert.normalizedFrom),
      ]
    : [h('span', { class: 'badge ok', text: 'no' }), ' the submitted file is installed byte for byte'];

  facts($('cert-facts'), [
    ['Subject', h('span', { class: 'cert-subject', text: cert.subject })],
    ['Issuer', h('span', { class: 'cert-issuer', text: cert.issuer })],
    ['Serial number', h('code', { text: cert.serialNumber })],
    ['SHA-256 fingerprint', h('code', { class: 'cert-fingerprint', text: cert.fingerprintSha256 })],
    ['Valid from', fmtTime(cert.notBefore)],
    ['Valid until', fmtTime(cert.notAfter), ' ', expiry(cert)],
    ['PFX protection', encryption(cert.pfxEncryption)],
    ['Normalized', ...normalized],
    [
      'Chain',
      h(
        'ol',
        { class: 'chain' },
        cert.chain.map((s, i, all) =>
          h('li', {}, h('span', { text: s }), i === 0 ? ' (leaf)' : i === all.length - 1 ? ' (root)' : ''),
        ),
      ),
    ],
    [
      'Warnings',
      warnings.length ? h('span', { class: 'badge warn', text: String(warnings.length) }) : 'none',
    ],
  ]);
}
