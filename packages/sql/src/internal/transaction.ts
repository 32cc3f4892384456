import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

/**
 * Runs `body` in a transaction of its own on a reserved connection, opened by `begin`: a statement without parameters,
 * which may be several (PostgreSQL's `BEGIN; SET LOCAL …` takes one round trip). Transactions nested in `body`
 * (`sql.withTransaction`) become savepoints of this one.
 *
 * Unlike `sql.withTransaction`, a failed `COMMIT` is the transaction's failure (a `SqlError`), not a defect. An
 * interrupted body is rolled back; on a connection that does not answer, the rollback waits as long as it does, which
 * is why the store's deadlines abandon the fiber that runs this rather than wait for it.
 *
 * @internal
 */
export const own = <A, E, R>(
  sql: SqlClient.SqlClient,
  begin: string,
  body: Effect.Effect<A, E, R>
) =>
  Effect.scoped(Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const connection = yield* sql.reserve
      yield* connection.executeUnprepared(begin, [], undefined)
      const exit = yield* restore(body).pipe(
        Effect.provideService(SqlClient.TransactionConnection, [connection, 0]),
        Effect.exit
      )
      if (Exit.isSuccess(exit)) {
        yield* connection.executeUnprepared("COMMIT", [], undefined).pipe(
          Effect.tapError(() => Effect.ignore(connection.executeUnprepared("ROLLBACK", [], undefined)))
        )
      } else {
        yield* Effect.ignore(connection.executeUnprepared("ROLLBACK", [], undefined))
      }
      return yield* exit
    })
  ))
