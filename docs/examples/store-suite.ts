// #region suite
// A test file of the store's package: the conformance suite every store must pass, run against the store's Layer.
import { EventStoreSuite } from "@concord/testing/vitest"
import { layerMapStore } from "./custom-store.js"

EventStoreSuite.run("the Map store", layerMapStore())
// #endregion suite
