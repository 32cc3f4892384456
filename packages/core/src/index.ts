/**
 * @since 0.2.0
 */
export * as Checkpoints from "./Checkpoints.js"

/**
 * @since 0.1.0
 */
export * as CommandHandler from "./CommandHandler.js"

/**
 * @since 0.1.0
 */
export * as Conflict from "./Conflict.js"

/**
 * @since 0.1.0
 */
export * as ConflictRegistry from "./ConflictRegistry.js"

/**
 * @since 0.2.0
 */
export * as Consumer from "./Consumer.js"

/**
 * @since 0.2.0
 */
export * as ConsumerError from "./ConsumerError.js"

/**
 * @since 0.1.0
 */
export * as Decider from "./Decider.js"

/**
 * @since 0.1.0
 */
export * as Event from "./Event.js"

/**
 * @since 0.1.0
 */
export * as EventStore from "./EventStore.js"

/**
 * @since 0.1.0
 */
export * as EventStoreError from "./EventStoreError.js"

/**
 * @since 0.1.0
 */
export * as ExpectedVersion from "./ExpectedVersion.js"

/**
 * @since 0.2.0
 */
export * as Position from "./Position.js"

/**
 * @since 0.1.0
 */
export * as StoreBackend from "./StoreBackend.js"

/**
 * @since 0.1.0
 */
export * as StreamId from "./StreamId.js"

/**
 * @since 0.1.0
 */
export * as StreamVersion from "./StreamVersion.js"

/**
 * @since 0.4.0
 */
export * as Telemetry from "./Telemetry.js"
