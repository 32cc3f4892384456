/**
 * @since 0.1.0
 */
export * as Postgres from "./Postgres.js"

/**
 * @since 0.1.0
 */
export * as Programs from "./Programs.js"
