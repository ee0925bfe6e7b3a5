/** What the coordinator needs from the partitions' logs (implemented by the broker's log side). */
export interface TxnMarkerWriter {
  /**
   * Append a COMMIT (commit=true) or ABORT control batch for the producer to the partition, ending its
   * transaction there: the partition's ongoing transaction of that producer is closed, an abort is
   * recorded in the aborted-transactions index, the last stable offset moves. Resolves once the marker
   * is as durable as the storage engine is configured to make appends. Idempotent in effect: a marker
   * for a producer with no ongoing transaction on the partition is still written (Kafka does) but
   * changes no state. Resolves with a Kafka error code (NONE, UNKNOWN_TOPIC_OR_PARTITION for a deleted
   * topic — the coordinator then drops that partition — or KAFKA_STORAGE_ERROR).
   */
  writeTxnMarker(topic: string, partition: number, m: { producerId: number; producerEpoch: number; coordinatorEpoch: number; commit: boolean }): Promise<number>;
}

/** What the produce path asks the coordinator before appending a transactional batch (KIP-890 part 1). */
export interface TxnProduceVerifier {
  /**
   * NONE when `producerId` at `producerEpoch` has an ongoing transaction that includes the partition;
   * otherwise Kafka's code: INVALID_PRODUCER_EPOCH / PRODUCER_FENCED for an old epoch,
   * INVALID_TXN_STATE when the partition was not added (or there is no ongoing transaction).
   * `transactionalId` is the produce request's; with brokers sharing a database the answer may need
   * a read of the id's stored state (a promise).
   */
  verifyTransactionalProduce(producerId: number, producerEpoch: number, topic: string, partition: number, transactionalId?: string | null): number | Promise<number>;
}
