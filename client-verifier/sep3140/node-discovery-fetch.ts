/**
 * The discovery fetch for Node (SEP-3140: discovery URLs are fetched "subject to the SSRF
 * protections already required for OAuth metadata discovery (block private/link-local ranges,
 * HTTPS-only, DNS-pin)"). Node-only, so it is exported from `@etdi/client/node`.
 *
 * DNS pinning: the addresses are checked inside the `lookup` the connection itself uses, so the
 * address checked is the address connected to; a name that resolves to a public address for a
 * check and to 127.0.0.1 for the connection (DNS rebinding) cannot slip between the two.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { parseStrictJson } from '@etdi/protocol';
import { isPublicAddress } from '@etdi/protocol/node';
import { VerificationError } from '../errors.js';
import type { DiscoveryFetch } from './discovery.js';

export interface DiscoveryFetchOptions {
  /**
   * Allow plain http to a loopback host (`localhost`, 127.0.0.0/8, `::1`) and loopback addresses:
   * a server on this machine, and tests. Default false: https only, and never loopback.
   */
  allowLoopback?: boolean;
  /** Allow private, link-local, shared (CGNAT) and unique-local addresses: an intranet deployment. Default false. */
  allowPrivateAddresses?: boolean;
  /** Whole-request time limit in ms, redirects included. Default 5,000. */
  timeoutMs?: number;
  /** Largest document in bytes. Default 64 KiB (a metadata document or a JWKS is a few hundred bytes). */
  maxBytes?: number;
  /** Most redirects followed, each to the same origin only (another host: DISCOVERY_REFUSED). Default 3. */
  maxRedirects?: number;
  /** The resolver. Default node:dns lookup; every address it returns is checked. */
  lookup?: typeof dnsLookup;
}

const isLoopbackName = (host: string): boolean => host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

const refused = (url: URL, why: string): VerificationError =>
  new VerificationError('DISCOVERY_REFUSED', `refused to fetch ${url.href}: ${why}`, { url: url.href });
const failed = (url: URL, why: string, cause?: unknown): VerificationError =>
  new VerificationError('DISCOVERY_FAILED', `could not fetch ${url.href}: ${why}`, { url: url.href }, cause === undefined ? {} : { cause });

/**
 * A DiscoveryFetch with SEP-3140's SSRF protections: https only (plain http only to a loopback
 * host, with `allowLoopback`), every address the name resolves to outside the blocked ranges
 * (checked where the connection is made), redirects only to the same origin, a size and a time
 * limit, and the body parsed as strict I-JSON.
 */
export function createDiscoveryFetch(options: DiscoveryFetchOptions = {}): DiscoveryFetch {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const maxBytes = options.maxBytes ?? 64 * 1024;
  const maxRedirects = options.maxRedirects ?? 3;
  if (!(timeoutMs > 0) || !(maxBytes > 0) || !(maxRedirects >= 0)) throw new RangeError('createDiscoveryFetch: timeoutMs and maxBytes must be positive, maxRedirects at least 0');
  const resolve = options.lookup ?? dnsLookup;
  // the registry's own address policy (@etdi/protocol/node), with this host's allowances
  const allowance = { private: options.allowPrivateAddresses === true, loopback: options.allowLoopback === true };
  const allowedAddress = (address: string): boolean => isPublicAddress(address, allowance);

  function checkUrl(url: URL): void {
    if (url.username !== '' || url.password !== '') throw refused(url, 'credentials in a discovery URL');
    if (url.protocol === 'http:') {
      if (options.allowLoopback !== true || !isLoopbackName(url.hostname)) throw refused(url, 'not https (plain http only to a loopback host, and only when the host allows it)');
    } else if (url.protocol !== 'https:') throw refused(url, 'not https');
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal) !== 0 && !allowedAddress(literal)) throw refused(url, `${literal} is a private, loopback or reserved address`);
  }

  /** The lookup the socket uses: every address checked, then handed on unchanged (DNS pinning). */
  function guardedLookup(hostname: string, lookupOptions: LookupOptions, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void {
    resolve(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, '');
      const list = addresses as LookupAddress[];
      const bad = list.find((a) => !allowedAddress(a.address));
      if (bad !== undefined || list.length === 0) {
        const e = Object.assign(new Error(`${hostname} resolves to ${bad?.address ?? 'nothing'}, a private, loopback or reserved address`), { code: 'ETDI_ADDRESS_REFUSED' });
        return callback(e, '');
      }
      if (lookupOptions.all === true) callback(null, list);
      else callback(null, list[0]!.address, list[0]!.family);
    });
  }

  function get(url: URL, signal: AbortSignal): Promise<IncomingMessage> {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolveResponse, reject) => {
      const req = request(url, { method: 'GET', headers: { accept: 'application/json' }, lookup: guardedLookup as never, signal, agent: false }, resolveResponse);
      req.on('error', reject);
      req.end();
    });
  }

  async function readBody(url: URL, response: IncomingMessage): Promise<Uint8Array> {
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      response.destroy();
      throw failed(url, `the document is ${declared} bytes, more than ${maxBytes}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response) {
      size += (chunk as Buffer).length;
      // Content-Length is checked first but not trusted: the body is capped as it streams.
      if (size > maxBytes) {
        response.destroy();
        throw failed(url, `the document is larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return new Uint8Array(Buffer.concat(chunks));
  }

  return async (start: URL): Promise<unknown> => {
    const signal = AbortSignal.timeout(timeoutMs);
    let url = start;
    for (let redirects = 0; ; redirects++) {
      checkUrl(url);
      let response: IncomingMessage;
      try {
        response = await get(url, signal);
      } catch (cause) {
        if ((cause as { code?: string }).code === 'ETDI_ADDRESS_REFUSED') throw refused(url, (cause as Error).message);
        throw failed(url, signal.aborted ? `no answer within ${timeoutMs} ms` : (cause as Error).message, cause);
      }
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && response.headers.location !== undefined) {
        response.resume();
        let next: URL;
        try {
          next = new URL(response.headers.location, url);
        } catch (cause) {
          throw failed(url, 'a redirect to something that is not a URL', cause);
        }
        if (next.origin !== url.origin) throw refused(next, `a redirect from ${url.origin} to another origin`);
        if (redirects >= maxRedirects) throw failed(url, `more than ${maxRedirects} redirects`);
        url = next;
        continue;
      }
      if (status !== 200) {
        response.resume();
        throw failed(url, `HTTP ${status}`);
      }
      let body: Uint8Array;
      try {
        body = await readBody(url, response);
      } catch (cause) {
        if (cause instanceof VerificationError) throw cause;
        throw failed(url, signal.aborted ? `no answer within ${timeoutMs} ms` : (cause as Error).message, cause);
      }
      try {
        return parseStrictJson(body, { maxBytes });
      } catch (cause) {
        throw failed(url, `not strict JSON: ${(cause as Error).message}`, cause);
      }
    }
  };
}
