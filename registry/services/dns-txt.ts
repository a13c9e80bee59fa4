import { Resolver } from 'node:dns/promises';

/** How the registry asks DNS for a domain's TXT records (config.dnsProof*). */
export interface DnsTxtOptions {
  /** The DNS servers asked (`1.1.1.1`, `[2606:4700::1111]:53`, `127.0.0.1:5353`): never the host's resolver. */
  servers: readonly string[];
  /** The whole lookup, retries included. */
  timeoutMs: number;
  /** The TXT records of the name together, in bytes: beyond, the answer is refused, not read. */
  maxBytes: number;
}

/** Refuses DNS proof settings that would fail every lookup (called by resolveConfig, at start). */
export function checkDnsTxtOptions(options: DnsTxtOptions, prefix: string): void {
  try {
    new Resolver().setServers([...options.servers]);
  } catch (cause) {
    throw new RangeError(`${prefix}Servers must be IP addresses, with an optional port (1.1.1.1, [2606:4700::1111]:53)`, { cause });
  }
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 1) throw new RangeError(`${prefix}TimeoutMs must be a positive integer`);
  if (!Number.isInteger(options.maxBytes) || options.maxBytes < 1) throw new RangeError(`${prefix}MaxBytes must be a positive integer`);
}

/** Why a lookup failed. The kind reaches the registrant, never what the DNS server said. */
export class DnsTxtFailure extends Error {
  constructor(
    readonly kind: 'no-record' | 'failed' | 'too-large',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** DNS answers that mean "the name has no TXT record", as opposed to "DNS did not answer". */
const NO_RECORD = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * The TXT records of `name`, each one's character-strings joined (RFC 7208 3.3 reads a split
 * record the same way), asked of the configured servers only: a resolver of its own per lookup
 * (servers set on it, one try per server, cancelled at the deadline), so nothing is shared with
 * the process's resolver or between two lookups.
 */
export async function lookupTxt(name: string, options: DnsTxtOptions): Promise<string[]> {
  if (options.servers.length === 0) throw new RangeError('lookupTxt: options.servers is empty');
  const resolver = new Resolver({ timeout: options.timeoutMs, tries: 1 });
  resolver.setServers([...options.servers]);
  const deadline = setTimeout(() => resolver.cancel(), options.timeoutMs);
  let records: string[][];
  try {
    records = await resolver.resolveTxt(name);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? '';
    if (NO_RECORD.has(code)) throw new DnsTxtFailure('no-record', `${name} has no TXT record`, { cause });
    throw new DnsTxtFailure('failed', `the TXT lookup of ${name} failed (${code || 'error'})`, { cause });
  } finally {
    clearTimeout(deadline);
  }
  const texts = records.map((chunks) => chunks.join(''));
  const bytes = texts.reduce((sum, text) => sum + Buffer.byteLength(text, 'latin1'), 0);
  if (bytes > options.maxBytes)
    throw new DnsTxtFailure('too-large', `the TXT records of ${name} hold ${bytes} bytes, more than ${options.maxBytes}`);
  return texts;
}
