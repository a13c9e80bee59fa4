import type { CedarEntityJson, CedarValueJson } from './cedar.js';
import type { InvocationRequest } from './types.js';

/** A call whose data cannot be put before Cedar faithfully; the engine denies it (fail closed). */
export class UnrepresentableError extends Error {
  override readonly name = 'UnrepresentableError';
}

/**
 * Keys that Cedar's JSON format reads as escapes: `{"__entity": ...}` would turn an argument into
 * an entity reference and `{"__extn": ...}` into an extension value (Cedar even ignores the other
 * keys of such an object). An argument the model controls must never be able to forge either.
 */
const RESERVED_KEYS = new Set(['__entity', '__extn', '__expr']);

export interface ConversionLimits {
  maxDepth: number;
  maxValues: number;
}

/**
 * JSON to a Cedar value, as documented in docs/POLICIES.md ("Arguments"): integers that are safe
 * in JavaScript stay Longs; other numbers become their decimal text (Cedar has no floats); arrays
 * become Sets; `null` (which Cedar refuses) is left out of records and sets, so `has` sees it as
 * absent; anything deeper or larger than the limits is refused.
 */
export function toCedarValue(value: unknown, limits: ConversionLimits, budget = { values: 0 }, depth = 0): CedarValueJson | undefined {
  if (++budget.values > limits.maxValues) throw new UnrepresentableError(`the arguments hold more than ${limits.maxValues} values`);
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isSafeInteger(value) ? value : String(value);
    case 'bigint':
      return String(value);
    case 'undefined':
      return undefined;
    case 'object': {
      if (value === null) return undefined;
      if (depth >= limits.maxDepth) throw new UnrepresentableError(`the arguments nest deeper than ${limits.maxDepth}`);
      if (Array.isArray(value)) {
        const out: CedarValueJson[] = [];
        for (const item of value) {
          const v = toCedarValue(item, limits, budget, depth + 1);
          if (v !== undefined) out.push(v);
        }
        return out;
      }
      const out: Record<string, CedarValueJson> = {};
      for (const key of Object.keys(value)) {
        if (RESERVED_KEYS.has(key)) throw new UnrepresentableError(`the arguments use the key "${key}", which Cedar reads as an escape`);
        const v = toCedarValue((value as Record<string, unknown>)[key], limits, budget, depth + 1);
        if (v !== undefined) out[key] = v;
      }
      return out;
    }
    default:
      throw new UnrepresentableError(`the arguments hold a ${typeof value}, which is not JSON`);
  }
}

export interface CalendarTime {
  epochSeconds: number;
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  minuteOfDay: number;
  /** 0 = Sunday ... 6 = Saturday. */
  dayOfWeek: number;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** Calendar fields of an instant in an IANA time zone, memoised per minute (the hot path asks every call). */
export class Calendar {
  private readonly format: Intl.DateTimeFormat | undefined;
  private memoMinute = NaN;
  private memo: Omit<CalendarTime, 'epochSeconds'> | undefined;

  /** Throws RangeError for an unknown time zone. */
  constructor(readonly timeZone: string) {
    this.format =
      timeZone === 'UTC'
        ? undefined
        : new Intl.DateTimeFormat('en-US', {
            timeZone,
            hourCycle: 'h23',
            year: 'numeric',
            month: 'numeric',
            day: 'numeric',
            hour: 'numeric',
            minute: 'numeric',
            weekday: 'short',
          });
  }

  at(date: Date): CalendarTime {
    const ms = date.getTime();
    if (!Number.isFinite(ms)) throw new RangeError('now must be a valid Date');
    const minute = Math.floor(ms / 60_000);
    if (minute !== this.memoMinute || this.memo === undefined) {
      this.memo = this.fields(date);
      this.memoMinute = minute;
    }
    return { epochSeconds: Math.floor(ms / 1000), ...this.memo };
  }

  private fields(date: Date): Omit<CalendarTime, 'epochSeconds'> {
    if (this.format === undefined) {
      const hour = date.getUTCHours();
      const minute = date.getUTCMinutes();
      return {
        year: date.getUTCFullYear(),
        month: date.getUTCMonth() + 1,
        day: date.getUTCDate(),
        hour,
        minute,
        minuteOfDay: hour * 60 + minute,
        dayOfWeek: date.getUTCDay(),
      };
    }
    const p: Record<string, string> = {};
    for (const part of this.format.formatToParts(date)) p[part.type] = part.value;
    const hour = Number(p['hour']);
    const minute = Number(p['minute']);
    return {
      year: Number(p['year']),
      month: Number(p['month']),
      day: Number(p['day']),
      hour,
      minute,
      minuteOfDay: hour * 60 + minute,
      dayOfWeek: WEEKDAYS[p['weekday'] ?? ''] ?? -1,
    };
  }
}

const ENTITY_TYPE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface CedarRequest {
  principal: { type: string; id: string };
  action: { type: string; id: string };
  resource: { type: string; id: string };
  context: Record<string, CedarValueJson>;
  entities: CedarEntityJson[];
}

/**
 * The invocation in the Cedar entity model of cedar-schema.ts: principal Agent/User, action
 * Action::"invoke", resource Tool::"<toolId>" (member of Provider::"<provider>") and the context.
 */
export function toCedarRequest(
  request: InvocationRequest,
  derived: { depth: number; circular: boolean; requiredPermissions: readonly string[]; now: CalendarTime },
  limits: ConversionLimits,
): CedarRequest {
  const principalType = request.principal.type ?? 'Agent';
  if (!ENTITY_TYPE.test(principalType)) throw new UnrepresentableError(`principal type "${principalType}" is not a Cedar entity type name`);
  const { tool } = request;
  const callerPermissions = new Set<string>();
  for (const caller of request.callChain) for (const p of request.callerPermissions?.[caller] ?? []) callerPermissions.add(p);
  const arguments_ = toCedarValue(request.arguments ?? {}, limits) ?? {};
  const annotations = tool.annotations === undefined ? {} : (toCedarValue(tool.annotations, limits) ?? {});
  const context: Record<string, CedarValueJson> = {
    arguments: arguments_,
    session: { id: request.session.id },
    callChain: request.callChain,
    depth: derived.depth,
    circular: derived.circular,
    requiredPermissions: derived.requiredPermissions as string[],
    callerPermissions: [...callerPermissions],
    dataLabels: request.dataLabels ?? [],
    now: { ...derived.now },
  };
  const caller = request.callChain[request.callChain.length - 1];
  if (caller !== undefined) context['caller'] = caller;
  const slash = tool.toolId.indexOf('/');
  return {
    principal: { type: principalType, id: request.principal.id },
    action: { type: 'Action', id: 'invoke' },
    resource: { type: 'Tool', id: tool.toolId },
    context,
    entities: [
      {
        uid: { type: 'Tool', id: tool.toolId },
        attrs: {
          id: tool.toolId,
          name: slash >= 0 ? tool.toolId.slice(slash + 1) : tool.toolId,
          version: tool.version,
          provider: tool.provider,
          permissions: tool.permissions,
          approvedPermissions: tool.approvedPermissions,
          annotations,
        },
        parents: [{ type: 'Provider', id: tool.provider }],
      },
    ],
  };
}
