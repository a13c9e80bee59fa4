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

  /** 0 when the request may go; otherwise the seconds until a token is available. */
  take(client: string): number {
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
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.config.refillPerSecond));
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    const full = (this.config.capacity / this.config.refillPerSecond) * 1000;
    for (const [client, bucket] of this.buckets) if (now - bucket.updated > full) this.buckets.delete(client);
  }
}

export function rateLimit(limiter: TokenBucketLimiter): RequestHandler {
  return (req, res, next) => {
    const wait = limiter.take(req.socket.remoteAddress ?? 'unknown');
    if (wait === 0) return next();
    sendProblem(
      res,
      new RegistryError(429, 'RATE_LIMITED', `too many requests from this client; retry in ${wait}s`, {
        headers: { 'Retry-After': String(wait) },
      }),
    );
  };
}
