/**
 * Which parts of the request a policy set can read, found from Cedar's own JSON form of each
 * policy. Cedar has no computed attribute names, so the attributes a policy reads from
 * `context`, `context.arguments` and `resource` are fixed by its `.attr` and `has` nodes; the
 * engine sends Cedar only those (docs/POLICIES.md, "Performance"), because turning each
 * argument value into a Cedar value is most of an evaluation's cost.
 *
 * The analysis is conservative: any use it cannot attribute to named attributes (`context` or
 * `context.arguments` as a whole value, an attribute read through an `if`, a record or an entity
 * literal) marks the whole part as read. Leaving out an attribute no policy names cannot change a
 * decision: no expression can reach it.
 */
export interface ReadSet {
  contextAll: boolean;
  context: Set<string>;
  argumentsAll: boolean;
  arguments: Set<string>;
  resourceAll: boolean;
  resource: Set<string>;
}

export function emptyReadSet(): ReadSet {
  return { contextAll: false, context: new Set(), argumentsAll: false, arguments: new Set(), resourceAll: false, resource: new Set() };
}

/** Everything is read: what the engine uses when request projection is off. */
export function fullReadSet(): ReadSet {
  return { ...emptyReadSet(), contextAll: true, argumentsAll: true, resourceAll: true };
}

export function mergeReadSets(into: ReadSet, from: ReadSet): ReadSet {
  into.contextAll ||= from.contextAll;
  into.argumentsAll ||= from.argumentsAll;
  into.resourceAll ||= from.resourceAll;
  for (const k of from.context) into.context.add(k);
  for (const k of from.arguments) into.arguments.add(k);
  for (const k of from.resource) into.resource.add(k);
  return into;
}

type Node = Record<string, unknown>;

function isObject(x: unknown): x is Node {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isVar(x: unknown, name: string): boolean {
  return isObject(x) && x['Var'] === name;
}

/** `context.arguments` as Cedar's JSON writes it. */
function isContextArguments(x: unknown): boolean {
  if (!isObject(x)) return false;
  const dot = x['.'];
  return isObject(dot) && isVar(dot['left'], 'context') && dot['attr'] === 'arguments';
}

function isEntityLiteral(x: unknown): boolean {
  return isObject(x) && ('__entity' in x || (isObject(x['Value']) && '__entity' in x['Value']));
}

/** `.attr` or `has attr` / `has a.b.c` (Cedar 4.4+), as [left, path]. */
function access(node: Node): [unknown, string[]] | undefined {
  const a = isObject(node['.']) ? node['.'] : isObject(node['has']) ? node['has'] : undefined;
  if (a === undefined || !('left' in a)) return undefined;
  const attr = a['attr'];
  if (typeof attr === 'string') return [a['left'], [attr]];
  if (Array.isArray(attr) && attr.length > 0 && attr.every((s) => typeof s === 'string')) return [a['left'], attr as string[]];
  return undefined;
}

function visit(node: unknown, reads: ReadSet, underAccess: boolean): void {
  if (Array.isArray(node)) {
    for (const n of node) visit(n, reads, underAccess);
    return;
  }
  if (!isObject(node)) return;
  const acc = access(node);
  if (acc !== undefined) {
    const [left, path] = acc;
    const isDot = '.' in node;
    if (isVar(left, 'context')) {
      reads.context.add(path[0]!);
      if (path[0] === 'arguments') {
        if (path.length > 1) reads.arguments.add(path[1]!);
        // `context.arguments` reached here is a whole value (an access on it is matched below)
        else if (isDot) reads.argumentsAll = true;
      }
      return;
    }
    if (isContextArguments(left)) {
      reads.context.add('arguments');
      reads.arguments.add(path[0]!);
      return;
    }
    if (isVar(left, 'resource')) {
      reads.resource.add(path[0]!);
      return;
    }
    // an attribute read through some other expression: whatever it may evaluate to counts as read
    visit(left, reads, true);
    return;
  }
  if (isVar(node, 'context')) {
    reads.contextAll = true; // `context == {...}` compares every attribute
    return;
  }
  if (underAccess && (isVar(node, 'resource') || isEntityLiteral(node))) {
    reads.resourceAll = true; // e.g. `(if c then resource else resource).version`, `Tool::"x".version`
    return;
  }
  for (const value of Object.values(node)) visit(value, reads, underAccess);
}

/** The read set of one policy in Cedar's JSON form (policyToJson). */
export function readSetOf(policyJson: { conditions: readonly { body: unknown }[] }): ReadSet {
  const reads = emptyReadSet();
  for (const c of policyJson.conditions) visit(c.body, reads, false);
  return reads;
}
