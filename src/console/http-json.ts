/**
 * JSON in and out for the console's API (api.ts): request bodies read within CONSOLE_BODY_MAX_BYTES,
 * answers and refusals as JSON. Every refusal is an ApiError with an HTTP status and one line of
 * text, so a person (or a script) sees what to fix; nothing a client sends becomes a 500.
 */
import type { HttpRequest, HttpResponse } from '../broker/http/server.js';
import { send } from '../broker/http/server.js';

/** Largest request body the console's API reads (a produced message with its key and headers). */
export const CONSOLE_BODY_MAX_BYTES = 1024 * 1024;

/** A refusal of a request: its HTTP status and a message naming the problem. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Kafka's error name when the refusal came from the broker (TOPIC_ALREADY_EXISTS, ...). */
    readonly kafkaError: string | null = null,
  ) {
    super(message);
  }
}

export function sendJson(res: HttpResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value) + '\n');
}

export function sendError(res: HttpResponse, e: ApiError): void {
  sendJson(res, e.status, { error: e.message, ...(e.kafkaError !== null ? { kafkaError: e.kafkaError } : {}) });
}

/**
 * The request's JSON body as an object. Refused before anything is buffered when Content-Length is
 * over the limit (413), and as soon as the bytes read pass it when there is none (chunked); a body
 * that is not `application/json` (415: a cross-site form cannot send it without a CORS preflight,
 * which this server never grants) or not a JSON object (400) is refused too.
 */
export async function readJsonBody(req: HttpRequest): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new ApiError(415, 'the body must be JSON (Content-Type: application/json)');
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > CONSOLE_BODY_MAX_BYTES) throw new ApiError(413, `the body is ${declared} bytes, over the limit of ${CONSOLE_BODY_MAX_BYTES}`);
  const body = await req.readBody(CONSOLE_BODY_MAX_BYTES);
  if (body === null) throw new ApiError(413, `the body is over the limit of ${CONSOLE_BODY_MAX_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ApiError(400, `the body is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ApiError(400, 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** Field readers for bodies and query strings: each refuses a wrong type with a 400 naming the field. */
export function str(o: Record<string, unknown>, name: string, opts: { optional?: boolean; max?: number } = {}): string | undefined {
  const v = o[name];
  if (v === undefined || v === null) {
    if (opts.optional) return undefined;
    throw new ApiError(400, `${name} is required`);
  }
  if (typeof v !== 'string') throw new ApiError(400, `${name} must be a string`);
  if (opts.max !== undefined && v.length > opts.max) throw new ApiError(400, `${name} is longer than ${opts.max} characters`);
  return v;
}

export function int(v: unknown, name: string, min: number, max: number): number {
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new ApiError(400, `${name} must be an integer`);
  if (n < min || n > max) throw new ApiError(400, `${name} must be between ${min} and ${max}`);
  return n;
}
