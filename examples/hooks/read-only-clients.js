// @ts-check
/**
 * Request-level access control (like aedes' authorizePublish): clients whose client id is not in
 * `options.admins` may not create or delete topics (POLICY_VIOLATION in every topic of the
 * answer), and connections from addresses outside `options.allow` are closed before any request is
 * read.
 *
 *   hooks:
 *     - module: ./read-only-clients.js
 *       export: guard
 *       apis: [CreateTopics, DeleteTopics, CreatePartitions]
 *       options: { admins: [ops-tool], allow: [127.0.0.1, "::1", "::ffff:127.0.0.1"] }
 */
import { ErrorCode } from 'rafka';

/** @type {import('rafka').HookFactory<{ admins?: string[]; allow?: string[] }>} */
export function guard(options) {
  const admins = new Set(options.admins ?? []);
  const allow = options.allow ? new Set(options.allow) : null;
  return {
    name: 'read-only-clients',
    onConnection(conn) {
      if (allow && !allow.has(conn.remoteAddress)) return { refuse: `address ${conn.remoteAddress} is not allowed` };
    },
    onRequest(ctx) {
      if (!admins.has(ctx.clientId ?? '')) {
        return { errorCode: ErrorCode.POLICY_VIOLATION, message: `client ${ctx.clientId} may not use ${ctx.apiName}` };
      }
    },
  };
}
