import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { EventStoreSuite } from "@concord/testing/vitest"
import { describe, inject } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { postgresSuites } from "./support/suites.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-sqlite-"))

EventStoreSuite.run("SQLite", SqliteEventStore.layer({ filename: path.join(directory, "suite.db") }))

const pgUrl = inject("pgUrl")
describe.skipIf(pgUrl === undefined)(postgresSuites.eventStoreSuite, () => {
  EventStoreSuite.run("PostgreSQL", PgEventStore.layer({ url: pgUrl ?? "", tablePrefix: "suite_" }))
})
