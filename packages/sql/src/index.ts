/**
 * @since 0.2.0
 */
export * as SqlCheckpoints from "./SqlCheckpoints.js"

/**
 * @since 0.1.0
 */
export * as SqlEventStore from "./SqlEventStore.js"
