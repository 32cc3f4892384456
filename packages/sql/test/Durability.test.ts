import { Checkpoints, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { SqliteEventStore } from "@concord/sql/sqlite"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import Sqlite from "better-sqlite3"
import { Cause, Effect, Exit } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

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

/** Appends one event on its own (group commit) and one inside a transaction of the caller's; what the probe saw. */
const writeBothWays = (filename: string) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const checkpoints = yield* Checkpoints.Checkpoints
    installProbe(filename)
    const stream = StreamId.make("durable")
    yield* store.append(stream, ExpectedVersion.noStream, [{ type: "Grouped", data: {} }])
    yield* checkpoints.transactional(
      store.append(stream, ExpectedVersion.exact(1), [{ type: "InTransaction", data: {} }])
    )
    return probed(filename)
  })

const pragmaSynchronous = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ synchronous: number }>`PRAGMA synchronous`
).pipe(Effect.map((rows) => rows[0]?.synchronous))

describe("SQLite durability", () => {
  it.effect("by default every connection of the store commits with synchronous = FULL (2)", () => {
    const filename = path.join(directory, "default.db")
    return writeBothWays(filename).pipe(
      Effect.map((rows) =>
        expect(rows).toEqual([{ type: "Grouped", synchronous: 2 }, { type: "InTransaction", synchronous: 2 }])
      ),
      Effect.provide(SqliteEventStore.layer({ filename }))
    )
  })

  it.effect("synchronous: \"normal\" makes every connection of the store commit with NORMAL (1)", () => {
    const filename = path.join(directory, "normal.db")
    return writeBothWays(filename).pipe(
      Effect.map((rows) =>
        expect(rows).toEqual([{ type: "Grouped", synchronous: 1 }, { type: "InTransaction", synchronous: 1 }])
      ),
      Effect.provide(SqliteEventStore.layer({ filename, synchronous: "normal" }))
    )
  })

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
