/**
 * The `@concord/sql/pg` entry point: the store on PostgreSQL, which needs `@effect/sql-pg`.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as PgEventStore from "./PgEventStore.js"
