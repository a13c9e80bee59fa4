/**
 * The flags that turn on SEP-3140 verification for a verb that talks to a server (proxy,
 * approve --all): the server's canonical URI and the trust policy. One module, so that the
 * verbs accept the same flags and say the same things. The verifier itself is loaded on use.
 */
import type { DeclarationsOptions } from '@etdi/client';
import { usage } from './errors.js';
import type { Values } from './args.js';
import type { ServerTarget } from './server-target.js';

export const DECLARATIONS_OPTIONS = {
  'server-uri': { type: 'string' },
  'trust-on-first-use': { type: 'boolean' },
  'pin-key': { type: 'string', multiple: true },
  'allow-publisher': { type: 'string', multiple: true },
  'unknown-trust-labels': { type: 'string' },
  'approve-read-only': { type: 'boolean' },
  'discovery-loopback': { type: 'boolean' },
  'discovery-private': { type: 'boolean' },
} as const;

export const DECLARATIONS_OPTIONS_HELP = `SEP-3140 signed declarations (a server that answers declarations/manifest; docs/VERIFIER.md):
  --trust-on-first-use  trust a publisher the first time, refuse (SIGNER_CHANGED) when its keys change
  --pin-key <publisher>=<key id>   a publisher's pinned signing key (RFC 7638 id), repeatable
  --allow-publisher <uri>          an allow-listed publisher (its JWKS on its own origin), repeatable
  --server-uri <uri>    the server's canonical URI the manifest must name (default: --url)
  --unknown-trust-labels refuse|most-restrictive   a label outside the vocabulary (default refuse)
  --approve-read-only   approve read-only tools without external egress on first use; every
                        other tool is asked about for every version
  --discovery-loopback  allow discovery over plain http to this machine (a local server)
  --discovery-private   allow discovery from private network addresses (an intranet)
  Without --trust-on-first-use, --pin-key or --allow-publisher, servers are verified against the
  registry only.`;

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : typeof value === 'string' ? [value] : []);

/** What a verb needs to verify SEP-3140 servers, or undefined when no trust policy is given. */
export interface DeclarationsFlags {
  options: DeclarationsOptions;
  serverUri: string;
}

/**
 * The SEP-3140 configuration the flags describe. A trust policy without a server URI (a stdio
 * server) is a usage error: the manifest's audience could not be checked.
 */
export async function declarationsOf(verb: string, values: Values, target: ServerTarget | undefined): Promise<DeclarationsFlags | undefined> {
  const pins = strings(values['pin-key']);
  const allowed = strings(values['allow-publisher']);
  const tofu = values['trust-on-first-use'] === true;
  const anyTrust = tofu || pins.length > 0 || allowed.length > 0;
  const others = ['server-uri', 'unknown-trust-labels', 'approve-read-only', 'discovery-loopback', 'discovery-private'].filter((f) => values[f] !== undefined);
  if (!anyTrust) {
    if (others.length > 0) throw usage(verb, `--${others[0]} needs a trust policy: --trust-on-first-use, --pin-key or --allow-publisher`);
    return undefined;
  }
  const pinnedKeys: Record<string, string[]> = {};
  for (const pin of pins) {
    const at = pin.lastIndexOf('=');
    const publisher = pin.slice(0, at);
    const keyId = pin.slice(at + 1);
    if (at <= 0 || !/^[A-Za-z0-9_-]{43}$/.test(keyId)) throw usage(verb, `--pin-key ${pin} is not <publisher uri>=<RFC 7638 key id>`);
    (pinnedKeys[publisher] ??= []).push(keyId);
  }
  const unknown = values['unknown-trust-labels'];
  if (unknown !== undefined && unknown !== 'refuse' && unknown !== 'most-restrictive') throw usage(verb, `--unknown-trust-labels ${String(unknown)}: say refuse or most-restrictive`);
  const serverUri = typeof values['server-uri'] === 'string' ? values['server-uri'] : target?.kind === 'url' ? target.url.href : undefined;
  if (serverUri === undefined) throw usage(verb, '--server-uri is required for a server command: a SEP-3140 manifest names the server it is for');
  const { canonicalServerUri } = await import('@etdi/client');
  try {
    canonicalServerUri(serverUri);
  } catch (cause) {
    throw usage(verb, `--server-uri: ${(cause as Error).message}`);
  }
  const { createDiscoveryFetch } = await import('@etdi/client/node');
  return {
    serverUri,
    options: {
      trust: { ...(Object.keys(pinnedKeys).length > 0 ? { pinnedKeys } : {}), ...(allowed.length > 0 ? { allowedPublishers: allowed } : {}), trustOnFirstUse: tofu },
      fetch: createDiscoveryFetch({ allowLoopback: values['discovery-loopback'] === true, allowPrivateAddresses: values['discovery-private'] === true }),
      ...(unknown !== undefined ? { unknownTrustLabels: unknown } : {}),
      ...(values['approve-read-only'] === true ? { riskApproval: { approveOnFirstUse: { effect: ['read-only'], egress: ['none', 'internal'] } } } : {}),
    },
  };
}
