/**
 * The Cedar entity model of an invocation (docs/POLICIES.md, "Entities"), as a Cedar JSON schema.
 * It is what PolicyEngine sends to Cedar; a provider puts it (with the record type of its tool's
 * arguments) in `policy.schema` so that the registry validates the tool's policies against it at
 * publish. Evaluation itself runs without a schema: the engine builds the request from this
 * model, and a schema mismatch must not turn into an unenforced forbid at call time. Cedar 4
 * validates records as closed (`additionalAttributes` is experimental), so a policy may read only
 * the argument and annotation attributes the schema declares; the request may carry more.
 */
export function etdiCedarSchema(argumentsType?: Record<string, unknown>): Record<string, unknown> {
  const stringSet = { type: 'Set', element: { type: 'String' } };
  const long = { type: 'Long' };
  return {
    '': {
      commonTypes: {
        Arguments: argumentsType ?? { type: 'Record', attributes: {} },
        Annotations: {
          type: 'Record',
          attributes: {
            title: { type: 'String', required: false },
            readOnlyHint: { type: 'Boolean', required: false },
            destructiveHint: { type: 'Boolean', required: false },
            idempotentHint: { type: 'Boolean', required: false },
            openWorldHint: { type: 'Boolean', required: false },
          },
        },
        // SEP-3140 trust labels of a signed declaration (docs/POLICIES.md, "Trust labels")
        Trust: {
          type: 'Record',
          attributes: {
            effect: { type: 'String' },
            egress: { type: 'String' },
            dataSensitivity: { type: 'String' },
            reversible: { type: 'Boolean' },
            idempotent: { type: 'Boolean' },
            publisher: { type: 'String' },
            basis: { type: 'String' },
          },
        },
        Now: {
          type: 'Record',
          attributes: { epochSeconds: long, year: long, month: long, day: long, hour: long, minute: long, minuteOfDay: long, dayOfWeek: long },
        },
        Context: {
          type: 'Record',
          attributes: {
            arguments: { type: 'Arguments' },
            session: { type: 'Record', attributes: { id: { type: 'String' } } },
            callChain: stringSet,
            caller: { type: 'String', required: false },
            depth: long,
            circular: { type: 'Boolean' },
            requiredPermissions: stringSet,
            callerPermissions: stringSet,
            dataLabels: stringSet,
            now: { type: 'Now' },
            trust: { type: 'Trust', required: false },
          },
        },
      },
      entityTypes: {
        Agent: {},
        User: {},
        Provider: {},
        Tool: {
          memberOfTypes: ['Provider'],
          shape: {
            type: 'Record',
            attributes: {
              id: { type: 'String' },
              name: { type: 'String' },
              version: { type: 'String' },
              provider: { type: 'String' },
              permissions: stringSet,
              approvedPermissions: stringSet,
              annotations: { type: 'Annotations' },
            },
          },
        },
      },
      actions: {
        invoke: {
          appliesTo: { principalTypes: ['Agent', 'User'], resourceTypes: ['Tool'], context: { type: 'Context' } },
        },
      },
    },
  };
}
