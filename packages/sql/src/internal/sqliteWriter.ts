/**
 * The connection SQLite's group commit writes through: a second connection to the store's file, driven directly
 * (better-sqlite3), without the `SqlClient`'s per-statement cost (a cache lookup of the prepared statement, a
 * semaphore, a span per statement), which was most of an append's time.
 *
 * @internal
 */
import { EventStore } from "@concord/core"
import Sqlite from "better-sqlite3"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/**
 * How SQLite syncs a commit to the disk (`PRAGMA synchronous`): `"full"` syncs the write-ahead log at every commit, so
 * an acknowledged append survives a power loss or an operating system crash; `"normal"` syncs it only at checkpoints,
 * so such a crash can lose the last commits (never a process crash: the log is in the operating system's hands).
 *
 * @internal
 */
export type Synchronous = "full" | "normal"

/**
 * The pragma's statement for a setting; anything but `"normal"` is `FULL`, so no other text reaches the statement.
 *
 * @internal
 */
export const synchronousPragma = (synchronous: Synchronous | undefined): string =>
  `PRAGMA synchronous = ${synchronous === "normal" ? "NORMAL" : "FULL"}`

/**
 * Whether a file name opens a database of one connection's own (`:memory:`, or the empty name of a temporary file),
 * which a second connection would not share: such a store keeps to its one connection.
 *
 * @internal
 */
export const isPrivate = (filename: string): boolean => filename === "" || filename === ":memory:"

/**
 * The writer's connection to `filename`, closed with the scope: the busy timeout, the sync setting and foreign keys as
 * on the store's `SqlClient` connection. The file is already in WAL mode (the `SqlClient` put it there), which lets
 * this connection write while the other reads.
 *
 * @internal
 */
export const open = (options: {
  readonly filename: string
  readonly busyTimeout: number
  readonly synchronous: Synchronous | undefined
}): Effect.Effect<Sqlite.Database, EventStore.StoreError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        const db = new Sqlite(options.filename)
        try {
          // A PRAGMA takes no bound parameters; the timeout is a validated integer.
          db.exec(`PRAGMA busy_timeout = ${options.busyTimeout}`)
          db.exec(synchronousPragma(options.synchronous))
          db.exec("PRAGMA foreign_keys = ON")
          return db
        } catch (cause) {
          db.close()
          throw cause
        }
      },
      catch: (cause) =>
        new EventStore.StoreError({ operation: `open the SQLite file ${options.filename} for writing`, cause })
    }),
    (db) => Effect.sync(() => db.close())
  )
