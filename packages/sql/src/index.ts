/**
 * @since 0.1.0
 */
export * as SqlEventStore from "./SqlEventStore.js"
