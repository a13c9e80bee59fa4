import { isIP } from 'node:net';
import type { RequestHandler } from 'express';
import type { RateLimitConfig } from '../config.js';
import { RegistryError } from '../errors.js';
import { sendProblem } from './problem.js';

interface Bucket {
  tokens: number;
  updated: number;
}

/**
 * Per-client token bucket, keyed by clientKeyOf(the socket's address) (no proxy header is
 * trusted). The map is bounded: buckets that have refilled are swept as often as a bucket takes
 * to refill, and at `maxClients` the oldest buckets go (their clients come back to a full bucket,
 * which favours them, never an attacker rotating addresses).
 */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;
  private readonly refillMs: number;

  constructor(
    private readonly config: RateLimitConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.refillMs = Math.max(1000, (config.capacity / config.refillPerSecond) * 1000);
  }

  /** Buckets held now (bounded by config.maxClients). */
  get clients(): number {
    return this.buckets.size;
  }

  /** The largest cost one request may have: a request costing more could never pass. */
  get capacity(): number {
    return this.config.capacity;
  }

  /** 0 when the request may go (and `cost` tokens are taken); otherwise the seconds until they are available. */
  take(client: string, cost = 1): number {
    const now = this.now();
    if (now - this.lastSweep > this.refillMs) this.sweep(now);
    let bucket = this.buckets.get(client);
    if (bucket === undefined) {
      if (this.buckets.size >= this.config.maxClients) this.makeRoom(now);
      bucket = { tokens: this.config.capacity, updated: now };
      this.buckets.set(client, bucket);
    } else {
      const refill = ((now - bucket.updated) / 1000) * this.config.refillPerSecond;
      bucket.tokens = Math.min(this.config.capacity, bucket.tokens + refill);
      bucket.updated = now;
    }
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return 0;
    }
    return Math.max(1, Math.ceil((cost - bucket.tokens) / this.config.refillPerSecond));
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [client, bucket] of this.buckets) if (now - bucket.updated > this.refillMs) this.buckets.delete(client);
  }

  /** At the bound: sweep now, then drop the oldest tenth if that freed nothing. */
  private makeRoom(now: number): void {
    this.sweep(now);
    if (this.buckets.size < this.config.maxClients) return;
    let drop = Math.max(1, Math.floor(this.config.maxClients / 10));
    for (const client of this.buckets.keys()) {
      this.buckets.delete(client);
      if (--drop === 0) break;
    }
  }
}

/**
 * The rate limiter's key for a socket address: an IPv4 address as it is (an IPv4-mapped IPv6
 * address as its IPv4 address), an IPv6 address by its /64 prefix, since one subscriber holds a
 * whole /64 and could otherwise rotate through 2^64 addresses, each with a fresh bucket.
 */
export function clientKeyOf(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  if (isIP(address) !== 6) return address;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped !== null) return mapped[1]!;
  return `${expandIpv6(address).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, zone and embedded IPv4 handled). */
function expandIpv6(address: string): string[] {
  let text = address.replace(/%.*$/, '').toLowerCase();
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => (parseInt(g, 16) || 0).toString(16));
}

const rateLimited = (wait: number, what: string): RegistryError =>
  new RegistryError('RATE_LIMITED', `${what} from this client; retry in ${wait}s`, { headers: { 'Retry-After': String(wait) } });

export function rateLimit(limiter: TokenBucketLimiter): RequestHandler {
  return (req, res, next) => {
    const wait = limiter.take(clientOf(req));
    if (wait === 0) return next();
    sendProblem(res, rateLimited(wait, 'too many requests'));
  };
}

/** The caller's rate-limit key (clientKeyOf its socket address). */
export const clientOf = (req: { socket: { remoteAddress?: string | undefined } }): string => clientKeyOf(req.socket.remoteAddress);

/**
 * Charges a request that does the work of `cost` requests (a bundle set of many versions) the
 * tokens beyond the one the middleware took; throws RATE_LIMITED otherwise. A request costing
 * more than a whole bucket could never pass: it is refused at once (413 BUNDLE_SET_TOO_LARGE,
 * naming the maximum), never told to retry. No-op without a limiter.
 */
export function chargeExtra(limiter: TokenBucketLimiter | undefined, req: { socket: { remoteAddress?: string | undefined } }, cost: number): void {
  if (limiter === undefined || cost <= 1) return;
  if (cost > limiter.capacity)
    throw new RegistryError('BUNDLE_SET_TOO_LARGE', `a bundle set of ${cost} versions is more than this registry's rate limit allows in one request; ask for at most ${limiter.capacity} versions at a time`, {
      evidence: { max: limiter.capacity, got: cost },
    });
  const wait = limiter.take(clientOf(req), cost - 1);
  if (wait !== 0) throw rateLimited(wait, `a request worth ${cost} requests is more than the rate limit leaves`);
}
