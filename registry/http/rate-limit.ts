import type { RequestHandler } from 'express';
import type { RateLimitConfig } from '../config.js';
import { RegistryError } from '../errors.js';
import { sendProblem } from './problem.js';

interface Bucket {
  tokens: number;
  updated: number;
}

/**
 * Per-client token bucket, keyed by the socket's address (no proxy header is trusted). The map
 * is bounded: idle full buckets are swept, so a flood of addresses cannot grow it forever.
 */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  constructor(
    private readonly config: RateLimitConfig,
    private readonly now: () => number = Date.now,
  ) {}

  /** 0 when the request may go (and `cost` tokens are taken); otherwise the seconds until they are available. */
  take(client: string, cost = 1): number {
    const now = this.now();
    if (now - this.lastSweep > 60_000) this.sweep(now);
    let bucket = this.buckets.get(client);
    if (bucket === undefined) {
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
    const full = (this.config.capacity / this.config.refillPerSecond) * 1000;
    for (const [client, bucket] of this.buckets) if (now - bucket.updated > full) this.buckets.delete(client);
  }
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

const clientOf = (req: { socket: { remoteAddress?: string | undefined } }): string => req.socket.remoteAddress ?? 'unknown';

/**
 * Charges a request that does the work of `cost` requests (a bundle set of many versions) the
 * tokens beyond the one the middleware took; throws RATE_LIMITED otherwise. No-op without a limiter.
 */
export function chargeExtra(limiter: TokenBucketLimiter | undefined, req: { socket: { remoteAddress?: string | undefined } }, cost: number): void {
  if (limiter === undefined || cost <= 1) return;
  const wait = limiter.take(clientOf(req), cost - 1);
  if (wait !== 0) throw rateLimited(wait, `a request worth ${cost} requests is more than the rate limit leaves`);
}
