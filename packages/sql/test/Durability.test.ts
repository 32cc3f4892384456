import { Checkpoints, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { SqlCheckpoints } from "@concord/sql"
import { SqliteEventStore } from "@concord/sql/sqlite"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import Sqlite from "better-sqlite3"
import { Cause, Effect, Exit, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as SqliteStore from "../src/internal/sqliteStore.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-durability-"))

/**
 * A trigger that records, for every event stored, the `synchronous` setting of the connection that wrote it: the
 * pragma is a connection's, not the file's, and the store writes through two connections (its group commit's, and its
 * `SqlClient`'s inside a transaction of the caller's).
 */
const installProbe = (filename: string) => {
  const db = new Sqlite(filename)
  db.exec(`CREATE TABLE probe (type TEXT, synchronous INTEGER);
    CREATE TRIGGER probe AFTER INSERT ON concord_events
    BEGIN INSERT INTO probe SELECT NEW.type, synchronous FROM pragma_synchronous; END`)
  db.close()
}

const probed = (filename: string) => {
  const db = new Sqlite(filename, { readonly: true })
  try {
    return db.prepare("SELECT type, synchronous FROM probe ORDER BY rowid").all()
  } finally {
    db.close()
  }
}

/** `SqliteEventStore.layer`, composed as it is, with the store's `SqlClient` left in the context for the test. */
const storeWithClient = (options: SqliteEventStore.Options) =>
  SqlCheckpoints.layer({}).pipe(
    Layer.provideMerge(SqliteStore.layer(options)),
    Layer.provideMerge(SqliteEventStore.layerClient(options))
  )

const pragmaSynchronous = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ synchronous: number }>`PRAGMA synchronous`
).pipe(Effect.map((rows) => rows[0]?.synchronous))

/**
 * Appends one event on its own (group commit) and one inside a transaction of the caller's, after setting the store's
 * `SqlClient` connection, and only it, to `clientSetting`; what the probe saw. An append that took the wrong connection
 * shows in the setting recorded for it.
 */
const writeBothWays = (filename: string, clientSetting: "FULL" | "NORMAL") =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const checkpoints = yield* Checkpoints.Checkpoints
    const sql = yield* SqlClient.SqlClient
    installProbe(filename)
    const opened = yield* pragmaSynchronous
    yield* sql.unsafe(`PRAGMA synchronous = ${clientSetting}`)
    const stream = StreamId.make("durable")
    yield* store.append(stream, ExpectedVersion.noStream, [{ type: "Grouped", data: {} }])
    yield* checkpoints.transactional(
      store.append(stream, ExpectedVersion.exact(1), [{ type: "InTransaction", data: {} }])
    )
    return { opened, probed: probed(filename) }
  })

describe("SQLite durability", () => {
  it.effect(
    "by default both connections of the store open with synchronous = FULL (2), and the group commit writes at FULL",
    () => {
      const filename = path.join(directory, "default.db")
      // The SqlClient connection relaxed to NORMAL: the grouped append still records FULL, its writer's setting.
      return writeBothWays(filename, "NORMAL").pipe(
        Effect.map((seen) =>
          expect(seen).toEqual({
            opened: 2,
            probed: [{ type: "Grouped", synchronous: 2 }, { type: "InTransaction", synchronous: 1 }]
          })
        ),
        Effect.provide(storeWithClient({ filename }))
      )
    }
  )

  it.effect(
    "synchronous: \"normal\" opens both connections of the store with NORMAL (1), and the group commit writes at NORMAL",
    () => {
      const filename = path.join(directory, "normal.db")
      // The SqlClient connection raised to FULL: the grouped append still records NORMAL, its writer's setting.
      return writeBothWays(filename, "FULL").pipe(
        Effect.map((seen) =>
          expect(seen).toEqual({
            opened: 1,
            probed: [{ type: "Grouped", synchronous: 1 }, { type: "InTransaction", synchronous: 2 }]
          })
        ),
        Effect.provide(storeWithClient({ filename, synchronous: "normal" }))
      )
    }
  )

  it.effect("layerClient opens the file with FULL by default, NORMAL when asked", () =>
    Effect.gen(function*() {
      const byDefault = yield* Effect.provide(
        pragmaSynchronous,
        SqliteEventStore.layerClient({ filename: path.join(directory, "client-default.db") })
      )
      const full = yield* Effect.provide(
        pragmaSynchronous,
        SqliteEventStore.layerClient({ filename: path.join(directory, "client-full.db"), synchronous: "full" })
      )
      const normal = yield* Effect.provide(
        pragmaSynchronous,
        SqliteEventStore.layerClient({ filename: path.join(directory, "client-normal.db"), synchronous: "normal" })
      )
      expect([byDefault, full, normal]).toEqual([2, 2, 1])
    }))

  it.effect("a setting other than full or normal is a StoreError naming the option, before the file is opened", () =>
    Effect.gen(function*() {
      const filename = path.join(directory, "refused.db")
      const exit = yield* Effect.exit(
        Effect.provide(EventStore.EventStore, SqliteEventStore.layer({ filename, synchronous: "off" as "full" }))
      )
      expect(Exit.isFailure(exit) ? Cause.squash(exit.cause) : exit).toMatchObject({
        _tag: "StoreError",
        operation: expect.stringContaining("the option synchronous = off")
      })
      expect(fs.existsSync(filename)).toBe(false)
    }))
})
