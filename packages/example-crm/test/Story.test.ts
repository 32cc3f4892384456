import { EventStore } from "@concord/core"
import { Story } from "@concord/example-crm"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"

describe("Story", () => {
  it.effect("tells the Joe & Harry story step by step with its real outcomes", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const client = yield* Story.play((line) => Effect.sync(() => lines.push(line)))
      expect(lines).toHaveLength(9)
      expect(lines[2]).toBe("3. Harry saves his meeting notes (expected version 5): appended at version 6.")
      expect(lines[4]).toBe("   Plain optimistic concurrency would refuse it: the record is at version 6, not 5.")
      expect(lines[5]).toContain("appends it at version 7 (rebasedOver = 1)")
      expect(lines[7]).toBe(
        `   Refused, nothing written: stream ${client} is at version 7, the writer expected 5: ` +
          "ClientValueDowngraded (proposed #0) conflicts with ClientValueUpgraded (version 7)"
      )
      expect(lines[8]).toBe(
        "6. The record is at version 7: value 500, notes \"first call\" (joe), \"went well\" (harry). Nothing was lost."
      )
    }).pipe(Effect.provide(EventStore.layerMemory())))
})
