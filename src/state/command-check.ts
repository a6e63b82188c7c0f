// A fast check of commands: ajv code compiled from the same zod schema. Every entry in
// the log is the output of `envelopeSchema.parse` (the leader encodes nothing else), so
// the check takes the *output* form of the schema: defaults filled in, no key the schema
// does not name. Whatever it accepts, zod accepts and returns deep-equal
// (test/unit/state/command-check.test.ts checks that against zod on generated values), so
// apply sees the same commands either way, at about a sixth of zod's cost per entry, on
// every node.
import { Ajv } from 'ajv';
import { z } from 'zod';

type Json = Record<string, unknown>;

/**
 * Compile a check for values already in `schema`'s output form; a union under `pick` is
 * matched by its `type` field (one branch tried instead of each in turn). As in zod, string
 * lengths count code points (both libraries' default) and a number must be finite
 * (`strictNumbers`; JSON.parse turns 1e400 into Infinity).
 */
export function compileOutputCheck<T>(schema: z.ZodType<T>, pick: string): (value: unknown) => value is T {
  const json = z.toJSONSchema(schema, { target: 'draft-7', io: 'output' }) as Json;
  delete json.$schema;
  const properties = json.properties as Record<string, Json>;
  const union = { type: 'object', ...properties[pick], discriminator: { propertyName: 'type' } };
  const ajv = new Ajv({ discriminator: true, strictNumbers: true, strict: true, allErrors: false });
  return ajv.compile<T>(withoutProtoKeys({ ...json, properties: { ...properties, [pick]: union } }) as Json);
}

/**
 * zod drops an own `__proto__` key from a record (`z.record`), where the JSON Schema's
 * `propertyNames` would let it through; refusing it keeps the check no wider than zod.
 */
function withoutProtoKeys(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutProtoKeys); // anyOf, oneOf, items as a list
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema as Json)) {
    if (key === 'properties' && value !== null && typeof value === 'object') {
      // A map from field names to schemas: a field may be called "propertyNames" without being the keyword.
      out[key] = Object.fromEntries(Object.entries(value as Json).map(([name, sub]) => [name, withoutProtoKeys(sub)]));
    } else if (key === 'const' || key === 'default' || key === 'enum') {
      out[key] = value; // data, not schemas
    } else {
      out[key] = withoutProtoKeys(value);
    }
  }
  if (out.propertyNames !== undefined) out.propertyNames = { allOf: [out.propertyNames, { not: { const: '__proto__' } }] };
  return out;
}
