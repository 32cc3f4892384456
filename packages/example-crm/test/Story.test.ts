import { EventStore } from "@concord/core"
import { Database, ReadModel, Story } from "@concord/example-crm"
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

  it.live("with a read model, shows it following each save once the consumer has caught up", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const story = Story.play((line) => Effect.sync(() => lines.push(line)), {
        readModel: (streamId, version) => ReadModel.waitFor(ReadModel.get, streamId, version, { timeout: "10 seconds" })
      })
      const client = yield* Effect.raceFirst(story, ReadModel.run)
      expect(lines.filter((line) => line.startsWith("   Read model"))).toEqual([
        "   Read model at version 5: Acme, expected value 150, 1 meeting note.",
        "   Read model at version 6: Acme, expected value 150, 1 → 2 meeting notes.",
        "   Read model at version 7: Acme, expected value 150 → 500, 2 meeting notes."
      ])
      // Each right after its save.
      expect(lines[1]).toContain("version 5")
      expect(lines[4]).toContain("version 6")
      expect(lines[8]).toContain("version 7")
      expect(yield* ReadModel.get(client)).toMatchObject({ _tag: "Some", value: { expectedValue: 500, version: 7 } })
    }).pipe(Effect.provide(Database.layerSqlite(":memory:"))))

  it.live("a read model that does not catch up in time fails the story with ReadModelBehind", () =>
    Effect.gen(function*() {
      // No consumer runs: the table stays empty.
      yield* ReadModel.migrate
      const error = yield* Effect.flip(Story.play(() => Effect.void, {
        readModel: (streamId, version) => ReadModel.waitFor(ReadModel.get, streamId, version, { timeout: "200 millis" })
      }))
      expect(error._tag).toBe("ReadModelBehind")
      expect(error.message).toMatch(
        /^the read model did not reach version 5 of client-acme-\w+ within 200 ms \(it showed version 0\)$/
      )
    }).pipe(Effect.provide(Database.layerSqlite(":memory:"))))
})
