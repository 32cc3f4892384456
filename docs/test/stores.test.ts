import { EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { describe, expect, inject, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as QuickStart from "../examples/quick-start.js"
import * as Stores from "../examples/stores.js"
// Registers the conformance suite against the example's Map store.
import "../examples/store-suite.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-docs-stores-"))
const pgUrl = inject("pgUrl")

const joeAndHarry = <E>(store: Layer.Layer<EventStore.EventStore, E>) =>
  Effect.map(
    Effect.provide(QuickStart.program, store),
    (append) => expect(append).toEqual({ streamId: "client-acme", firstVersion: 3, lastVersion: 3, rebasedOver: 1 })
  )

describe("stores", () => {
  it.effect("the program runs on the memory store", () => joeAndHarry(Stores.memory))

  it.effect("the program runs on a SQLite file", () => joeAndHarry(Stores.sqlite(path.join(directory, "crm.db"))))

  it.effect.runIf(pgUrl !== undefined)(
    "the program runs on PostgreSQL, in tables with the crm_ prefix",
    () =>
      Effect.gen(function*() {
        yield* joeAndHarry(Stores.postgres(pgUrl!))
        const tables = yield* Effect.promise(() =>
          query(pgUrl!, "SELECT tablename FROM pg_tables WHERE tablename LIKE 'crm\\_%' ORDER BY tablename")
        )
        expect(tables.map((row) => row.tablename)).toEqual([
          "crm_checkpoints",
          "crm_events",
          "crm_migrations",
          "crm_streams"
        ])
      })
  )

  it.effect("without DATABASE_URL the store is the SQLite file EVENTS_FILE names", () =>
    Effect.gen(function*() {
      const file = path.join(directory, "from-environment.db")
      const environment = ConfigProvider.fromMap(new Map([["EVENTS_FILE", file]]))
      yield* joeAndHarry(Stores.fromEnvironment.pipe(Layer.provide(Layer.setConfigProvider(environment))))
      expect(fs.existsSync(file)).toBe(true)
    }))

  it.effect.runIf(pgUrl !== undefined)("with DATABASE_URL the store is PostgreSQL", () =>
    Effect.gen(function*() {
      const environment = ConfigProvider.fromMap(new Map([["DATABASE_URL", pgUrl!]]))
      const store = Stores.fromEnvironment.pipe(Layer.provide(Layer.setConfigProvider(environment)))
      const streamId = StreamId.make(`client-environment-${Date.now()}`)
      yield* Effect.flatMap(
        EventStore.EventStore,
        (s) =>
          s.append(streamId, ExpectedVersion.noStream, [{ type: "ClientRegistered", data: { name: "Env", value: 1 } }])
      ).pipe(Effect.provide(store))
      const rows = yield* Effect.promise(() =>
        query(pgUrl!, "SELECT type FROM crm_events WHERE stream_id = $1", [streamId])
      )
      expect(rows).toEqual([{ type: "ClientRegistered" }])
    }))
})

const query = async (url: string, text: string, values: ReadonlyArray<unknown> = []) => {
  const pg = await import("pg")
  const client = new pg.default.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(text, [...values])).rows
  } finally {
    await client.end()
  }
}
