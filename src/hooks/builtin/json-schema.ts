/**
 * Built-in `json-schema`: typed topics. Every record value produced to the hook's topics must be
 * JSON that validates against a JSON Schema (draft-07 and 2019-09/2020-12 keywords as ajv supports
 * them). A batch with an invalid record is refused, as Kafka refuses a batch with a bad record:
 * INVALID_RECORD for the partition, `error_message` summarising the first problem, and one
 * `record_errors` entry per invalid record (Produce v8+, KIP-467) — the batch index and why.
 *
 * Options:
 *   schema:       the schema (an object), or
 *   schemaFile:   a path to a JSON file holding it (relative to the config file)
 *   allowNull:    accept null values (tombstones) without validating them (default true)
 *
 * Records are decoded only for this hook's topics; nothing is re-encoded (the hook never changes
 * records).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { Ajv as AjvClass, ErrorObject } from 'ajv';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { Hook, HookFactory, RecordErrorInfo } from '../types.js';

export interface JsonSchemaOptions {
  schema?: object | boolean;
  schemaFile?: string;
  allowNull?: boolean;
}

/** Named limit: record errors listed in one produce answer (the rest are counted in the message). */
export const MAX_RECORD_ERRORS = 100;

// ajv is loaded when a json-schema hook is created, not when the built-in hooks are imported: it is
// large, and most brokers run without this hook.
const require = createRequire(import.meta.url);
let AjvCtor: typeof AjvClass | undefined;
function loadAjv(): typeof AjvClass {
  return (AjvCtor ??= (require('ajv') as typeof import('ajv')).Ajv);
}

function describe(e: ErrorObject): string {
  const where = e.instancePath === '' ? 'value' : `value${e.instancePath}`;
  if (e.keyword === 'additionalProperties') return `${where} must not have property "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  return `${where} ${e.message ?? 'is invalid'}`;
}

export const jsonSchemaHook: HookFactory<JsonSchemaOptions> = (options, ctx): Hook => {
  const o = options ?? {};
  let schema: object | boolean;
  if (o.schema !== undefined && o.schemaFile !== undefined) throw new TypeError('json-schema: give either schema or schemaFile, not both');
  if (o.schema !== undefined) schema = o.schema;
  else if (o.schemaFile !== undefined) {
    const file = resolve(ctx.baseDir, o.schemaFile);
    try {
      schema = JSON.parse(readFileSync(file, 'utf8')) as object;
    } catch (err) {
      throw new TypeError(`json-schema: cannot read schemaFile ${file}: ${(err as Error).message}`);
    }
  } else throw new TypeError('json-schema: options.schema or options.schemaFile is required');
  const Ajv = loadAjv();
  const ajv = new Ajv({ allErrors: false, strict: false });
  let validate;
  try {
    validate = ajv.compile(schema);
  } catch (err) {
    throw new TypeError(`json-schema: invalid schema: ${(err as Error).message}`);
  }
  const allowNull = o.allowNull ?? true;

  return {
    name: 'json-schema',
    async beforeProduce({ batch }) {
      const records = await batch.records();
      const errors: RecordErrorInfo[] = [];
      let invalid = 0;
      for (const r of records) {
        if (r.value === null && allowNull) continue;
        let problem: string | null = null;
        let value: unknown;
        try {
          value = r.valueJson();
        } catch (err) {
          problem = `value is not JSON: ${(err as Error).message}`;
        }
        if (problem === null && !validate(value)) problem = (validate.errors ?? []).map(describe).join('; ');
        if (problem !== null) {
          invalid++;
          if (errors.length < MAX_RECORD_ERRORS) errors.push({ index: r.index, message: problem });
        }
      }
      if (invalid === 0) return;
      const first = errors[0]!;
      return {
        errorCode: ErrorCode.INVALID_RECORD,
        message: `${invalid} of ${records.length} record(s) fail the JSON Schema of topic ${batch.topic}; record ${first.index}: ${first.message}`,
        recordErrors: errors,
      };
    },
  };
};
