// The message of a 400 for a request that failed its JSON Schema: every problem, each
// naming the field it is about (ajv's own text names the field for a type or a bound
// through the path, but not the field that is unknown or missing).

/** One error as ajv reports it (the fields used here). */
export interface SchemaError {
  readonly instancePath?: string;
  readonly keyword?: string;
  readonly params?: Record<string, unknown>;
  readonly message?: string;
}

/** `body.chunks[0].hash`-style name of the value at `instancePath` in `context` (body, querystring, params, headers). */
function fieldName(context: string, instancePath: string): string {
  const parts = instancePath.split('/').slice(1).map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
  return parts.reduce((name, part) => (/^\d+$/.test(part) ? `${name}[${part}]` : `${name}.${part}`), context);
}

/** "body.extra is not a known field; body.size must be integer" for fastify's `error.validation` and `error.validationContext`. */
export function validationMessage(errors: readonly SchemaError[], context = 'body'): string {
  return errors.map((error) => {
    const at = fieldName(context, error.instancePath ?? '');
    const params = error.params ?? {};
    if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') return `${at}.${params.additionalProperty} is not a known field`;
    if (error.keyword === 'required' && typeof params.missingProperty === 'string') return `${at}.${params.missingProperty} is required`;
    return `${at} ${error.message ?? 'is not valid'}`;
  }).join('; ');
}
