import { SqlEventStore } from "@concord/sql"
import { EventStoreSuite } from "@concord/testing/vitest"
import { describe, inject } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { postgresSuites } from "./support/suites.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-sqlite-"))

EventStoreSuite.run("SQLite", SqlEventStore.layerSqlite({ filename: path.join(directory, "suite.db") }))

const pgUrl = inject("pgUrl")
describe.skipIf(pgUrl === undefined)(postgresSuites.eventStoreSuite, () => {
  EventStoreSuite.run("PostgreSQL", SqlEventStore.layerPg({ url: pgUrl ?? "", tablePrefix: "suite_" }))
})
