import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Transaction from "./transaction.js"

/**
 * Runs `body` in a SQLite transaction that takes the write lock before its first read (`BEGIN IMMEDIATE`).
 * `@effect/sql-sqlite-node` begins deferred transactions, and two processes upgrading a deferred read to a write fail
 * with `SQLITE_BUSY` instead of waiting; an immediate transaction waits for the lock under the busy timeout.
 * Transactions nested in `body` (`sql.withTransaction`) become savepoints of this one. Inside a caller's transaction,
 * `body` runs in a savepoint of it instead: the caller's transaction holds the one connection, and its own locks.
 *
 * @internal
 */
export const immediate = <A, E, R>(
  sql: SqlClient.SqlClient,
  body: Effect.Effect<A, E, R>
) =>
  Effect.flatMap(
    Effect.serviceOption(SqlClient.TransactionConnection),
    (outer) => Option.isSome(outer) ? sql.withTransaction(body) : Transaction.own(sql, "BEGIN IMMEDIATE", body)
  )
