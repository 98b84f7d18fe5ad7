/**
 * Where the notifier may send a job's report. A submitter chooses the notify
 * URLs, so they must not reach the inside of the network: by default only
 * public unicast addresses are allowed. FLEET_NOTIFY_ALLOW lists CIDRs that are
 * allowed as well (a ticket system on the support network; loopback in tests).
 * Cloud metadata addresses and the unspecified address are never allowed.
 */
import { lookup } from 'node:dns/promises';
import { CodedError } from '@certfleet/contract';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** A parsed CIDR block. */
export type Cidr = [Address, number];

/** Why a notify URL is refused; the API answers 422 `notify_url_forbidden`, the notifier does not retry. */
export class NotifyUrlError extends CodedError {
  readonly code = 'notify_url_forbidden';
}

/** Instance metadata services (AWS, ECS, GCP, Azure, OpenStack, Oracle; AWS over IPv6; Alibaba). */
const METADATA: readonly Cidr[] = [
  '169.254.169.254/32',
  '169.254.170.2/32',
  'fd00:ec2::254/128',
  '100.100.100.200/32',
].map((cidr) => ipaddr.parseCIDR(cidr));

const RANGE_NAMES: Record<string, string> = {
  loopback: 'loopback',
  linkLocal: 'link-local',
  private: 'private',
  uniqueLocal: 'unique-local',
  carrierGradeNat: 'carrier-grade NAT',
  multicast: 'multicast',
  broadcast: 'broadcast',
  reserved: 'reserved',
};

/** Parses FLEET_NOTIFY_ALLOW: comma-separated CIDRs (`10.20.0.0/16, fd12::/16`) or single addresses. */
export function parseCidrList(raw: string): Cidr[] {
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      if (ipaddr.isValidCIDR(entry)) return ipaddr.parseCIDR(entry);
      if (ipaddr.isValid(entry)) {
        const address = ipaddr.parse(entry);
        return [address, address.kind() === 'ipv4' ? 32 : 128];
      }
      throw new Error(`'${entry}' is not a CIDR block such as 10.20.0.0/16`);
    });
}

function inAny(address: Address, blocks: readonly Cidr[]): boolean {
  return blocks.some((block) => block[0].kind() === address.kind() && address.match(block));
}

/**
 * Why the notifier may not connect to `address`, or undefined when it may.
 * IPv4-mapped IPv6 (`::ffff:169.254.169.254`) is judged as the IPv4 address.
 */
export function addressRefusal(address: string, allow: readonly Cidr[]): string | undefined {
  if (!ipaddr.isValid(address)) return `'${address}' is not an IP address`;
  const ip = ipaddr.process(address);
  if (inAny(ip, METADATA)) return `${ip.toString()} is a cloud metadata address`;
  const range = ip.range();
  if (range === 'unspecified') return `${ip.toString()} is the unspecified address`;
  if (range === 'unicast' || inAny(ip, allow)) return undefined;
  return `${ip.toString()} is a ${RANGE_NAMES[range] ?? range} address (FLEET_NOTIFY_ALLOW lists the ranges allowed beyond public ones)`;
}

/** The host of a URL as an address when it is an IP literal (`[::1]` → `::1`), else undefined. */
function literalAddress(url: URL): string | undefined {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return ipaddr.isValid(host) ? host : undefined;
}

/**
 * Checks a notify URL's form and, when its host is an IP literal, the address.
 * The WHATWG parser has already turned hex, octal and decimal IPv4 forms into
 * dotted quads. Host names are checked by `resolveNotifyAddress` at delivery.
 */
export function checkNotifyUrl(raw: string, allow: readonly Cidr[]): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new NotifyUrlError('is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new NotifyUrlError('must start with http:// or https://');
  }
  const literal = literalAddress(url);
  const refusal = literal === undefined ? undefined : addressRefusal(literal, allow);
  if (refusal) throw new NotifyUrlError(`${url.host}: ${refusal}`);
  return url;
}

/** One resolved address, as `dns.lookup` gives it. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address the system resolver gives. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** The system resolver (getaddrinfo, so /etc/hosts counts), every address. */
export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

/**
 * Resolves `hostname` and checks every address it has; answers the one to
 * connect to. The caller connects to exactly that address (a pinned lookup), so
 * a DNS answer that changes between this check and the connection is not used.
 */
export async function resolveNotifyAddress(
  hostname: string,
  allow: readonly Cidr[],
  resolve: Resolver = systemResolver,
): Promise<ResolvedAddress> {
  const addresses = await resolve(hostname);
  const first = addresses[0];
  if (!first) throw new Error(`${hostname} has no address`);
  for (const { address } of addresses) {
    const refusal = addressRefusal(address, allow);
    if (refusal) throw new NotifyUrlError(`${hostname} resolves to ${refusal}`);
  }
  return first;
}
