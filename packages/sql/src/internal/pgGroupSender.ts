/**
 * How `PgEventStore` sends its commit groups: straight through the `pg` driver, on connections of their own (one per
 * group on its way), as a prepared statement. Through the `SqlClient`, each statement also compiles its text, opens a
 * span and takes a pooled connection, which cost a group about three times the driver's own work in a profile of
 * eight writers; a group is one statement, always the same, that needs none of it.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as Pg from "pg"
import * as PgGroupCommit from "./pgGroupCommit.js"

/**
 * A pool of connections for the groups, open while the scope is, and the `Send` of a store whose function of migration
 * `3_append_many` is `appendMany` (see `Migrations.Tables`).
 *
 * @internal
 */
export const make = (options: {
  /** The store's connection URL, with its session settings. */
  readonly url: string
  /** How long opening a connection may take (milliseconds). */
  readonly connectTimeout: number
}): Effect.Effect<(appendMany: string) => PgGroupCommit.Send, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => {
        const pool = new Pg.Pool({
          connectionString: options.url,
          max: PgGroupCommit.maxGroupsInFlight,
          connectionTimeoutMillis: options.connectTimeout
        })
        // An idle connection that fails is dropped by the pool, and the next group opens another.
        pool.on("error", () => {})
        return pool
      }),
      // Not waited for: on a server that hangs, closing its connections waits as long as it does.
      (pool) => Effect.sync(() => void pool.end().catch(() => {}))
    ),
    (pool) => (appendMany: string): PgGroupCommit.Send => {
      const statement = {
        name: "concord_append_many",
        text: `SELECT ${Pg.escapeIdentifier(appendMany)}($1::jsonb) AS statuses`
      }
      return ({ done, take }) => {
        let abandoned = false
        /** Gives the connection back (to the pool, or closed with `error`), once. */
        let release: ((error?: Error) => void) | undefined
        pool.connect((connectError, client, giveBack) => {
          // Nothing was sent: the group goes the full path.
          if (connectError || client === undefined) return done(Either.left(connectError))
          if (abandoned) return giveBack()
          // Taken right before the statement goes, which is when its appends may begin to commit.
          const appends = take()
          if (appends === undefined) return giveBack()
          const lost = (error: Error) => {
            release?.(error)
            done(Either.left(error))
          }
          client.on("error", lost)
          release = (error) => {
            release = undefined
            client.off("error", lost)
            giveBack(error)
          }
          client.query<{ statuses: ReadonlyArray<string> }>({ ...statement, values: [appends] }, (error, result) => {
            if (release === undefined) return
            release()
            done(error ? Either.left(error) : Either.right(result.rows[0]?.statuses ?? []))
          })
        })
        return () => {
          abandoned = true
          // A connection whose statement went unanswered is closed, never given to the next group.
          release?.(new Error("the group's statement was abandoned at its deadline"))
        }
      }
    }
  )
