import type { RegistryConfig } from '../config.js';
import type { TransparencyLog } from '../log/transparency-log.js';
import type { Store } from '../store/types.js';
import type { RegistrySigningKeys } from './signing-keys.js';
import type { OutboundFetchGate } from './well-known.js';
import type { WriteQueue } from './write-queue.js';

/** Who is calling, as established by services/auth.ts. `actor` is what the audit trail records. */
export type Principal =
  | { role: 'admin'; actor: string }
  | { role: 'publisher'; namespace: string; keyId: string; actor: string }
  | { role: 'anonymous'; actor: string };

export interface RegistryContext {
  store: Store;
  log: TransparencyLog;
  config: RegistryConfig;
  queue: WriteQueue;
  keys: RegistrySigningKeys;
  /** Milliseconds since the epoch. */
  now(): number;
  /** Bounds the domain-control fetches in flight (per client and in total). */
  outbound: OutboundFetchGate;
  /** Called whenever something changes what a served status says (revocations). */
  invalidate(): void;
}

export const isoNow = (ctx: RegistryContext): string => new Date(ctx.now()).toISOString();
