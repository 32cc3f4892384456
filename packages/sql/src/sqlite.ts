/**
 * The `@concord/sql/sqlite` entry point: the store on SQLite, which needs `@effect/sql-sqlite-node`.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as SqliteEventStore from "./SqliteEventStore.js"
