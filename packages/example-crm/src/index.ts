/**
 * @since 0.1.0
 */
export * as Client from "./Client.js"

/**
 * @since 0.1.0
 */
export * as Events from "./Events.js"

/**
 * @since 0.1.0
 */
export * as Registry from "./Registry.js"

/**
 * @since 0.1.0
 */
export * as Commands from "./Commands.js"

/**
 * @since 0.1.0
 */
export * as Story from "./Story.js"

/**
 * @since 0.1.0
 */
export * as ClientSummary from "./ClientSummary.js"

/**
 * @since 0.1.0
 */
export * as ReadModel from "./ReadModel.js"

/**
 * @since 0.1.0
 */
export * as ReadModelApi from "./ReadModelApi.js"

/**
 * @since 0.1.0
 */
export * as Database from "./Database.js"
