import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as QuickStart from "../examples/quick-start.js"

describe("docs examples", () => {
  it.effect("quick start: Joe's stale upgrade is appended past Harry's note", () =>
    Effect.map(QuickStart.main, (append) => expect(append).toMatchObject({ firstVersion: 3, rebasedOver: 1 })))
})
