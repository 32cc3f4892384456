/**
 * @since 0.1.0
 */
export * as Api from "./Api.js"

/**
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"

/**
 * @since 0.1.0
 */
export * as ConcordClient from "./ConcordClient.js"

/**
 * @since 0.4.0
 */
export * as OtlpExport from "./OtlpExport.js"

/**
 * @since 0.1.0
 */
export * as Registries from "./Registries.js"

/**
 * @since 0.1.0
 */
export * as Server from "./Server.js"
