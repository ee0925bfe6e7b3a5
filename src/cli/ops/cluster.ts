/**
 * `rafka cluster`: the cluster id, controller and brokers (DescribeCluster, or Metadata where the
 * broker lacks it), and each broker's APIs with their version ranges (its ApiVersions answer) and
 * the version this client would use, as kafka-broker-api-versions.sh shows them.
 */
import type { Command } from 'commander';
import { printJson, printLine, printTable, withAdmin, withCommon, write, type CommonOptions, type OpsIO } from './common.js';

export function clusterCommand(program: Command, io: OpsIO): void {
  withCommon(program.command('cluster').description('cluster id, brokers, and the APIs and versions each broker offers'))
    .option('--no-apis', 'leave out the APIs')
    .action(async (opts: CommonOptions & { apis: boolean }) => {
      await withAdmin(opts, io, async (admin) => {
        const c = await admin.describeCluster();
        const brokers = [];
        for (const b of [...c.brokers].sort((x, y) => x.nodeId - y.nodeId)) {
          brokers.push({ ...b, apis: opts.apis ? await admin.apiVersions(b.nodeId) : undefined });
        }
        if (opts.json) return printJson(io, { clusterId: c.clusterId, controllerId: c.controllerId, brokers });
        await printLine(io, `Cluster: ${c.clusterId}  controller: ${c.controllerId}`);
        await printTable(io, ['BROKER', 'HOST', 'PORT', 'RACK'], brokers.map((b) => [b.nodeId, b.host, b.port, b.rack]));
        for (const b of brokers) {
          if (!b.apis) continue;
          await write(io.stdout, `\nAPIs of broker ${b.nodeId}:\n`);
          await printTable(io, ['KEY', 'API', 'MIN', 'MAX', 'USABLE'], b.apis.map((a) => [a.apiKey, a.name, a.minVersion, a.maxVersion, a.usableVersion]));
        }
      });
    });
}
