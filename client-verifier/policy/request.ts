import type { CedarEntityJson, CedarValueJson } from './cedar.js';
import type { ReadSet } from './reads.js';
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
  reads: ReadSet,
): CedarRequest {
  const principalType = request.principal.type ?? 'Agent';
  if (!ENTITY_TYPE.test(principalType)) throw new UnrepresentableError(`principal type "${principalType}" is not a Cedar entity type name`);
  const { tool } = request;
  // only what some policy can read goes to Cedar (reads.ts): converting values is most of the cost
  const wants = (key: string): boolean => reads.contextAll || reads.context.has(key);
  const context: Record<string, CedarValueJson> = {};
  if (wants('arguments')) context['arguments'] = projectArguments(request.arguments ?? {}, reads, limits);
  if (wants('session')) context['session'] = { id: request.session.id };
  if (wants('callChain')) context['callChain'] = request.callChain;
  if (wants('depth')) context['depth'] = derived.depth;
  if (wants('circular')) context['circular'] = derived.circular;
  if (wants('requiredPermissions')) context['requiredPermissions'] = derived.requiredPermissions as string[];
  if (wants('callerPermissions')) {
    const callerPermissions = new Set<string>();
    for (const caller of request.callChain) for (const p of request.callerPermissions?.[caller] ?? []) callerPermissions.add(p);
    context['callerPermissions'] = [...callerPermissions];
  }
  if (wants('dataLabels')) context['dataLabels'] = request.dataLabels ?? [];
  if (wants('now')) context['now'] = { ...derived.now };
  // SEP-3140 trust labels: absent for a tool that has none, so a policy tests `context has trust`
  if (request.tool.trust !== undefined && wants('trust')) context['trust'] = { ...request.tool.trust };
  const caller = request.callChain[request.callChain.length - 1];
  if (caller !== undefined && wants('caller')) context['caller'] = caller;

  const has = (attr: string): boolean => reads.resourceAll || reads.resource.has(attr);
  const slash = tool.toolId.indexOf('/');
  const attrs: Record<string, CedarValueJson> = {};
  if (has('id')) attrs['id'] = tool.toolId;
  if (has('name')) attrs['name'] = slash >= 0 ? tool.toolId.slice(slash + 1) : tool.toolId;
  if (has('version')) attrs['version'] = tool.version;
  if (has('provider')) attrs['provider'] = tool.provider;
  if (has('permissions')) attrs['permissions'] = tool.permissions;
  if (has('approvedPermissions')) attrs['approvedPermissions'] = tool.approvedPermissions;
  if (has('annotations')) attrs['annotations'] = tool.annotations === undefined ? {} : (toCedarValue(tool.annotations, limits) ?? {});
  return {
    principal: { type: principalType, id: request.principal.id },
    action: { type: 'Action', id: 'invoke' },
    resource: { type: 'Tool', id: tool.toolId },
    context,
    entities: [{ uid: { type: 'Tool', id: tool.toolId }, attrs, parents: [{ type: 'Provider', id: tool.provider }] }],
  };
}

/** The argument record with only the top-level keys some policy reads (all of them if one reads it whole). */
function projectArguments(args: Record<string, unknown>, reads: ReadSet, limits: ConversionLimits): CedarValueJson {
  if (reads.contextAll || reads.argumentsAll) return toCedarValue(args, limits) ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new UnrepresentableError('the arguments are not an object');
  const budget = { values: 1 };
  const out: Record<string, CedarValueJson> = {};
  for (const key of reads.arguments) {
    if (!Object.prototype.hasOwnProperty.call(args, key)) continue;
    const v = toCedarValue(args[key], limits, budget, 1);
    if (v !== undefined) out[key] = v;
  }
  return out;
}
