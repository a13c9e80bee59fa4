import type { Request } from 'express';
import type { Principal, RegistryContext } from '../services/context.js';
import type { ReadService } from '../services/reads.js';
import type { TokenBucketLimiter } from '../http/rate-limit.js';

/** What the route modules get: the context, the read side, and authentication of a request. */
export interface Services {
  ctx: RegistryContext;
  reads: ReadService;
  /** The per-client rate limiter (undefined when rate limiting is off): for requests worth several. */
  limiter: TokenBucketLimiter | undefined;
  authenticate(req: Request): Promise<Principal>;
}
