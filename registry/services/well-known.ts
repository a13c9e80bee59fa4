import { parseStrictJson } from '@etdi/protocol';
import { NamespaceWellKnownSchema } from '@etdi/schemas';
import type { WellKnownConfig } from '../config.js';
import { RegistryError } from '../errors.js';

export const WELL_KNOWN_PATH = '/.well-known/etdi-namespace.json';
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)(:\d{1,5})?$/;

/** `com.acme` -> `acme.com`: the domain whose owner may claim the namespace. */
export function namespaceDomain(namespace: string): string {
  return namespace.split('.').reverse().join('.');
}

/** Where the domain-control document of `namespace` is fetched from. */
export function wellKnownUrl(namespace: string, config: WellKnownConfig): string {
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

const notVerified = (message: string, url: string, cause?: unknown): RegistryError =>
  new RegistryError('DOMAIN_NOT_VERIFIED', message, { cause, evidence: { url } });

/**
 * Domain control: the namespace's domain serves a document naming the namespace and listing
 * the key id. HTTPS (certificate checked by the platform), no redirects, size and time capped.
 */
export async function verifyDomainControl(namespace: string, keyId: string, config: WellKnownConfig): Promise<void> {
  const url = wellKnownUrl(namespace, config);
  let text: Uint8Array;
  try {
    const response = await fetch(url, {
      redirect: 'error',
      signal: AbortSignal.timeout(config.timeoutMs),
      headers: { accept: 'application/json' },
    });
    if (response.status !== 200) throw notVerified(`${url} answered ${response.status}`, url);
    const length = Number(response.headers.get('content-length') ?? '0');
    if (length > config.maxBytes) throw notVerified(`${url} is larger than ${config.maxBytes} bytes`, url);
    const buffer = new Uint8Array(await response.arrayBuffer());
    if (buffer.length > config.maxBytes) throw notVerified(`${url} is larger than ${config.maxBytes} bytes`, url);
    text = buffer;
  } catch (cause) {
    if (cause instanceof RegistryError) throw cause;
    throw notVerified(`could not fetch ${url}`, url, cause);
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
