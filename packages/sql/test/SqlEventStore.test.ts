import { SqlEventStore } from "@concord/sql"
import { EventStoreSuite } from "@concord/testing"
import { describe, inject, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-sqlite-"))

EventStoreSuite("SQLite", SqlEventStore.layerSqlite({ filename: path.join(directory, "suite.db") }))

const pgUrl = inject("pgUrl")
if (pgUrl !== undefined) {
  EventStoreSuite("PostgreSQL", SqlEventStore.layerPg({ url: pgUrl, tablePrefix: "suite_" }))
} else {
  describe.skip("EventStoreSuite: PostgreSQL (no PostgreSQL server: see the warning above)", () => {
    it("runs", () => {})
  })
}
