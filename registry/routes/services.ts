import type { Request } from 'express';
import type { Principal, RegistryContext } from '../services/context.js';
import type { ReadService } from '../services/reads.js';

/** What the route modules get: the context, the read side, and authentication of a request. */
export interface Services {
  ctx: RegistryContext;
  reads: ReadService;
  authenticate(req: Request): Promise<Principal>;
}
