// #region suite
// A test file of the store's package: the conformance suite every store must pass, run against the store's Layer.
import { EventStoreSuite } from "@concord/testing/vitest"
import { layerMapStore } from "./custom-store.js"

EventStoreSuite.run("the Map store", layerMapStore())
// #endregion suite

// #region database
// The same suite on a store over a database: the test run's global setup provides the database's URL, and the
// suite's tables get a prefix of their own.
import { PgEventStore } from "@concord/sql/pg"
import { describe, inject } from "@effect/vitest"

const url = inject("pgUrl")
describe.skipIf(url === undefined)("on the test run's PostgreSQL", () => {
  EventStoreSuite.run("PostgreSQL", PgEventStore.layer({ url: url!, tablePrefix: "store_suite_" }))
})
// #endregion database
