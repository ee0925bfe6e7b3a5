/**
 * Rafka's Kafka client: Producer, Consumer and Admin over one connection layer. They speak the Kafka
 * protocol through the generated codecs (versions negotiated with ApiVersions) and work against
 * Rafka and Apache Kafka alike. See docs/client.md.
 */
export { Producer } from './producer.js';
export type { ProducerOptions, ProducerMessage, RecordMetadata, HeaderValue } from './producer.js';
export type { TransactionState, TransactionOffset } from './transactions.js';
export { Consumer } from './consumer.js';
export type { ConsumerOptions, ConsumerMessage, IsolationLevel } from './consumer.js';
export type { ConsumerGroupMetadata } from './group.js';
export { Admin } from './admin.js';
export type { AdminOptions, ClientQuotaEntity, ClientQuotaFilterComponent, ClientQuotaEntry, ClientQuotaAlteration, NewTopic, ConfigEntry, ConfigResourceType, TopicDescription, GroupDescription, OffsetSpec, GroupPartitionLag, TransactionDescription, TransactionListing, ListTransactionsOptions, ProducerState, PartitionProducers, ApiVersionInfo } from './admin.js';
export type { ScramUserDescription, ScramCredentialAlteration, ScramMechanism } from './scram-users.js';
export { Connection } from './connection.js';
export type { ConnectionOptions, RequestOptions } from './connection.js';
export { Cluster } from './cluster.js';
export type { SaslOptions, OAuthBearerToken, SaslMechanismName } from './sasl.js';
export type { SslOptions } from './tls.js';
export type { ClusterOptions, BrokerInfo, PartitionInfo, TopicInfo } from './cluster.js';
export { murmur2, toPositive, partitionForKey, DefaultPartitioner } from './partitioner.js';
export type { Partitioner, PartitionerInput } from './partitioner.js';
export { rangeAssignor, roundRobinAssignor, cooperativeStickyAssignor, ASSIGNORS } from './assignors.js';
export type { Assignor, MemberSubscription, GroupAssignment, TopicPartition, RebalanceProtocol } from './assignors.js';
export {
  KafkaClientError,
  KafkaProtocolError,
  ConnectionError,
  RequestTimeoutError,
  UnsupportedVersionError,
  TlsError,
  DeliveryTimeoutError,
  BufferFullError,
  RecordTooLargeError,
  ClientClosedError,
  ConfigError,
  TransactionStateError,
  AbortableTransactionError,
  TransactionAbortedError,
  TransactionTimeoutError,
} from './errors.js';
