/**
 * The first words of `rafka` that belong to the operations commands (src/cli/ops/program.ts). A
 * module of its own so that src/cli/main.ts can route on them without loading commander or the
 * client for `rafka start`.
 */
export const OPS_COMMANDS: readonly string[] = ['topics', 'produce', 'consume', 'groups', 'configs', 'quotas', 'cluster', 'transactions', 'producers', 'users', 'acls'];
