// A SQLite store built as SqliteEventStore.layer builds it, with two instruments: its writer's connection counts the
// COMMITs it runs and can be made to fail its ROLLBACKs (leaving the transaction open, as a driver that cannot roll
// back would), and its SqlClient counts the statements holding a marker.
import { EventStore } from "@concord/core"
import { SqliteEventStore } from "@concord/sql/sqlite"
import * as SqlClient from "@effect/sql/SqlClient"
import type Sqlite from "better-sqlite3"
import { Effect, Layer } from "effect"
import * as SqliteWriter from "../../src/internal/sqliteWriter.js"
import * as SqlStore from "../../src/internal/sqlStore.js"

export interface Instruments {
  /** How many of the writer's next `ROLLBACK`s throw and leave the transaction open (`Infinity`: until told). */
  failingRollbacks: number
  /** The `COMMIT`s the writer ran (that returned or threw). */
  commits: number
  /** The statements of the SqlClient holding `marker`. */
  marked: number
  readonly marker: string
}

export const instruments = (marker: string): Instruments => ({ failingRollbacks: 0, commits: 0, marked: 0, marker })

/** The writer's connection, its `ROLLBACK` and `COMMIT` statements instrumented; all else is the connection's own. */
const instrumentedWriter = (db: Sqlite.Database, counts: Instruments): Sqlite.Database =>
  new Proxy(db, {
    get: (target, property) => {
      if (property === "prepare") {
        return (text: string) => {
          const statement = target.prepare(text)
          if (text === "ROLLBACK") {
            return {
              run: () => {
                if (counts.failingRollbacks > 0) {
                  counts.failingRollbacks--
                  throw new Error("ROLLBACK failed (instrumented)")
                }
                return statement.run()
              }
            }
          }
          if (text === "COMMIT") {
            return {
              run: () => {
                counts.commits++
                return statement.run()
              }
            }
          }
          return statement
        }
      }
      const value = Reflect.get(target, property, target)
      return typeof value === "function" ? value.bind(target) : value
    }
  })

/** The store's SqlClient, counting the runs of the statements that hold the marker. */
const countingClient = (counts: Instruments) =>
  Layer.effect(
    SqlClient.SqlClient,
    Effect.map(SqlClient.SqlClient, (sql) =>
      new Proxy(sql, {
        apply: (target, self, args: Array<unknown>) => {
          const strings = args[0]
          const statement = Reflect.apply(target, self, args)
          return Array.isArray(strings) && strings.join("").includes(counts.marker)
            ? Effect.tap(statement, () => Effect.sync(() => counts.marked++))
            : statement
        }
      }))
  )

export const layer = (
  options: { readonly filename: string; readonly pollIntervalMillis?: number },
  counts: Instruments
): Layer.Layer<EventStore.EventStore, EventStore.StoreError> =>
  Layer.scoped(
    EventStore.EventStore,
    Effect.gen(function*() {
      const writer = yield* SqliteWriter.open({ filename: options.filename, busyTimeout: 10_000, synchronous: "full" })
      return yield* SqlStore.make(
        { pollIntervalMillis: options.pollIntervalMillis, appendTimeoutMillis: 11_000 },
        { sqliteWriter: instrumentedWriter(writer, counts) }
      )
    })
  ).pipe(
    Layer.provide(countingClient(counts)),
    Layer.provide(SqliteEventStore.layerClient({ filename: options.filename }))
  )
