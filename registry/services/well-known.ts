import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { parseStrictJson } from '@etdi/protocol';
import { NamespaceWellKnownSchema } from '@etdi/schemas';
import type { WellKnownConfig } from '../config.js';
import { RegistryError } from '../errors.js';
import { addressOfHost, isPublicAddress } from '@etdi/protocol/node';

export const WELL_KNOWN_PATH = '/.well-known/etdi-namespace.json';
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)(:\d{1,5})?$/;

/** One resolved address of a host name (what `dns.lookup(host, { all: true })` answers). */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to its addresses; WellKnownConfig.resolve, the system resolver by default. */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: HostResolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/** `com.acme` -> `acme.com`: the domain whose owner may claim the namespace. */
export function namespaceDomain(namespace: string): string {
  return namespace.split('.').reverse().join('.');
}

/**
 * Refuses a namespace whose domain is an IP address in any spelling (`1.0.0.127`, `1.127`,
 * `1.0x7f`, `0.0`, `254.169.254.169`): nobody proves control of an address by a well-known
 * document, and fetching one would point the registry at whatever host the registrant chose.
 */
export function refuseAddressNamespace(namespace: string): void {
  const domain = namespaceDomain(namespace);
  const address = addressOfHost(domain);
  if (address !== null)
    throw new RegistryError('NAMESPACE_IS_ADDRESS', `namespace ${namespace} reversed is ${domain}, an IP address, not a domain name; use the reverse-DNS form of a domain you control (com.example)`, {
      evidence: { namespace, domain, address },
    });
}

/** Where the domain-control document of `namespace` is fetched from. */
export function wellKnownUrl(namespace: string, config: Pick<WellKnownConfig, 'allowHttpLoopback' | 'hostOverrides'>): string {
  const domain = namespaceDomain(namespace);
  const override = config.hostOverrides[domain];
  if (override !== undefined) {
    // plain http exists only for tests and local development, and only towards loopback
    if (!config.allowHttpLoopback || !LOOPBACK.test(override))
      throw new RegistryError('INTERNAL', 'a well-known host override needs wellKnown.allowHttpLoopback and a loopback host');
    return `http://${override}${WELL_KNOWN_PATH}`;
  }
  return `https://${domain}${WELL_KNOWN_PATH}`;
}

/**
 * The refusal names both ways forward: the exact document to serve at `url` (JCS, so it can be
 * copied as is), or an administrator grant.
 */
function notVerifiedFor(namespace: string, keyId: string): (message: string, url: string, cause?: unknown) => RegistryError {
  const expected = { keys: [keyId], namespace };
  return (message, url, cause) =>
    new RegistryError(
      'DOMAIN_NOT_VERIFIED',
      `${message}. To prove control of ${namespaceDomain(namespace)}, serve ${url} (HTTPS, status 200, no redirect) with exactly ${JSON.stringify(expected)}; or register with an administrator token (admin grant)`,
      { cause, evidence: { url, expected } },
    );
}

/** Why a fetch failed; only the kind reaches the registrant, never what the remote host said. */
export class FetchFailure extends Error {
  constructor(
    readonly kind: 'address' | 'answer' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The system's lookup, replaced: the host's addresses come from `resolve`, every one of them must
 * be public, and the connection goes to the checked address (net connects to what this returns:
 * there is no second resolution for a rebinding DNS server to answer differently).
 */
export function checkedLookup(resolve: HostResolver): LookupFunction {
  return (hostname, options, callback) => {
    const checked = (addresses: ResolvedAddress[]): ResolvedAddress[] => {
      if (addresses.length === 0) throw new FetchFailure('address', `${hostname} has no address`);
      const refused = addresses.find((a) => !isPublicAddress(a.address));
      if (refused !== undefined) throw new FetchFailure('address', `${hostname} resolves to ${refused.address}, which is not a public address`);
      return addresses;
    };
    resolve(hostname)
      .then(checked)
      .then(
        (addresses) => {
          if (options.all === true) callback(null, addresses);
          else callback(null, addresses[0]!.address, addresses[0]!.family);
        },
        (error: NodeJS.ErrnoException) => callback(error, '', 0),
      );
  };
}

/**
 * GET `url` and return its body, at most `maxBytes`: the body is read as a stream and the
 * connection cut as soon as it passes the cap (a chunked answer has no length to trust). Any
 * status but 200 is a failure, and its body is not read (the connection is destroyed).
 */
export function fetchCapped(url: URL, config: WellKnownConfig, lookup: LookupFunction | undefined, accept = 'application/json'): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const signal = AbortSignal.timeout(config.timeoutMs);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'GET',
      headers: { accept },
      signal,
      agent: false, // a fresh connection to the checked address: no pooled socket to another one
      ...(lookup === undefined ? {} : { lookup }),
    });
    const fail = (error: Error): void => {
      req.destroy();
      reject(error);
    };
    req.on('error', (error) => reject(error instanceof FetchFailure ? error : (error.cause instanceof FetchFailure ? error.cause : error)));
    req.on('response', (res: IncomingMessage) => {
      if (res.statusCode !== 200) return fail(new FetchFailure('answer', `answered ${res.statusCode}`));
      const declared = Number(res.headers['content-length'] ?? '0');
      if (declared > config.maxBytes) return fail(new FetchFailure('too-large', `declared ${declared} bytes`));
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > config.maxBytes) return fail(new FetchFailure('too-large', `more than ${config.maxBytes} bytes`));
        chunks.push(chunk);
      });
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.end();
  });
}

/**
 * Bounds the domain-control fetches in flight: per client (the rate limiter's key) and in
 * total, so that registrations cannot hold the registry's outbound sockets (each may wait for
 * the whole timeout). State of one app: created by createApp, never shared between two.
 */
export class OutboundFetchGate {
  private total = 0;
  private readonly perClient = new Map<string, number>();

  constructor(private readonly limits: Pick<WellKnownConfig, 'maxConcurrent' | 'maxConcurrentPerClient'>) {}

  /** Takes a slot for `client`, or throws (429 for this client's own limit, 503 for the total). */
  acquire(client: string): () => void {
    const mine = this.perClient.get(client) ?? 0;
    if (mine >= this.limits.maxConcurrentPerClient)
      throw new RegistryError('RATE_LIMITED', `at most ${this.limits.maxConcurrentPerClient} domain checks at a time per client; wait for yours to finish`, {
        headers: { 'Retry-After': '5' },
      });
    if (this.total >= this.limits.maxConcurrent)
      throw new RegistryError('OVERLOADED', `the registry is running ${this.limits.maxConcurrent} domain checks already; retry shortly`, {
        headers: { 'Retry-After': '5' },
      });
    this.total++;
    this.perClient.set(client, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left === 0) this.perClient.delete(client);
      else this.perClient.set(client, left);
    };
  }
}

/**
 * Domain control: the namespace's domain serves a document naming the namespace and listing the
 * key id. HTTPS on 443 only (the platform checks the certificate), no redirects, public addresses
 * only (checked after resolution, connected to as checked), size and time capped. A failure says
 * which rule failed, never what the remote host answered: that answer could be an internal
 * service's, and echoing it would make the registry a probe.
 */
export async function verifyDomainControl(namespace: string, keyId: string, config: WellKnownConfig): Promise<void> {
  refuseAddressNamespace(namespace);
  const url = wellKnownUrl(namespace, config);
  const target = new URL(url);
  // the dev override is an explicit loopback host: nothing to resolve or check
  const lookup = target.protocol === 'https:' ? checkedLookup(config.resolve) : undefined;
  const notVerified = notVerifiedFor(namespace, keyId);
  let text: Uint8Array;
  try {
    text = await fetchCapped(target, config, lookup);
  } catch (cause) {
    if (cause instanceof FetchFailure && cause.kind === 'address')
      throw notVerified(`${target.hostname} does not resolve to public addresses only; the registry fetches domain-control documents from public hosts`, url, cause);
    if (cause instanceof FetchFailure && cause.kind === 'too-large')
      throw notVerified(`${url} is larger than ${config.maxBytes} bytes; serve a small etdi-namespace document`, url, cause);
    throw notVerified(`could not fetch ${url} (it must answer 200 over HTTPS on port 443 within ${config.timeoutMs} ms)`, url, cause);
  }
  let doc;
  try {
    doc = NamespaceWellKnownSchema.parse(parseStrictJson(text, { maxBytes: config.maxBytes }));
  } catch (cause) {
    throw notVerified(`${url} is not an etdi-namespace document`, url, cause);
  }
  if (doc.namespace !== namespace) throw notVerified(`${url} is for namespace ${doc.namespace}, not ${namespace}`, url);
  if (!doc.keys.includes(keyId)) throw notVerified(`${url} does not list key ${keyId}`, url);
}
