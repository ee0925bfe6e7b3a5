/** Every API handler, one file per API key. Adding an API = adding its file and one line here. */
import { register } from './registry.js';
import produce from './00-produce.js';
import fetch from './01-fetch.js';
import listOffsets from './02-list-offsets.js';
import metadata from './03-metadata.js';
import apiVersions from './18-api-versions.js';
import createTopics from './19-create-topics.js';
import deleteTopics from './20-delete-topics.js';
import initProducerId from './22-init-producer-id.js';
import describeConfigs from './32-describe-configs.js';
import alterConfigs from './33-alter-configs.js';
import createPartitions from './37-create-partitions.js';
import incrementalAlterConfigs from './44-incremental-alter-configs.js';
import describeCluster from './60-describe-cluster.js';

register(
  produce,
  fetch,
  listOffsets,
  metadata,
  apiVersions,
  createTopics,
  deleteTopics,
  initProducerId,
  describeConfigs,
  alterConfigs,
  createPartitions,
  incrementalAlterConfigs,
  describeCluster,
);

export { HANDLERS, supportedApiVersions } from './registry.js';
