import { EventStore } from "@concord/core"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { describe, expect, inject, it } from "@effect/vitest"
import type { Layer } from "effect"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Reading from "../examples/reading.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-docs-reading-"))
const pgUrl = inject("pgUrl")
let tables = 0

const stores: ReadonlyArray<readonly [string, () => Layer.Layer<EventStore.EventStore, unknown>]> = [
  ["memory", () => EventStore.layerMemory()],
  ["SQLite", () => SqliteEventStore.layer({ filename: path.join(directory, `${Date.now()}-${Math.random()}.db`) })],
  ...(pgUrl === undefined ? [] : [
    ["PostgreSQL", () => PgEventStore.layer({ url: pgUrl, tablePrefix: `reading${tables++}_` })] as const
  ])
]

describe.each(stores)("reading everything, on %s", (_, store) => {
  it.effect("readAll reads the global log in order, filtered by category", () =>
    Effect.gen(function*() {
      yield* Reading.seed
      expect(yield* Reading.catchUp).toEqual([
        "client-acme ClientRegistered",
        "client-globex ClientRegistered",
        "client-acme ClientValueUpgraded"
      ])
    }).pipe(Effect.provide(store())))

  it.effect("a position saved as a string resumes right after its event", () =>
    Effect.gen(function*() {
      yield* Reading.seed
      expect(yield* Reading.resume).toEqual(["InvoiceIssued", "ClientRegistered", "ClientValueUpgraded"])
    }).pipe(Effect.provide(store())))

  it.live("a subscriber catches up and then receives what is appended live", () =>
    Effect.gen(function*() {
      yield* Reading.seed
      expect(yield* Reading.follow).toEqual(["client-acme 500", "client-globex 70"])
    }).pipe(Effect.provide(store())))
})
