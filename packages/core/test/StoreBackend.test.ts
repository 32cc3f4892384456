import {
  ConflictRegistry,
  Event,
  EventStore,
  ExpectedVersion,
  StoreBackend,
  StreamId,
  StreamVersion
} from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"

const streamId = StreamId.make("backend-1")

const stored = (version: number, type: string): StoreBackend.PendingEvent => ({
  id: Event.EventId.make(`stored-${version}`),
  streamId,
  version: StreamVersion.make(version),
  type,
  data: {},
  metadata: {},
  recordedAt: new Date(0)
})

const registry = ConflictRegistry.untyped().pipe(
  ConflictRegistry.conflicts("Noted", ["Deleted"]),
  ConflictRegistry.never("Renamed"),
  ConflictRegistry.always("Created")
)

/** A stream at version 2 whose every operation can be made to fail, recording what it was asked. */
const backend = (fail: ReadonlySet<"currentVersion" | "committedAfter" | "findIds" | "write">) => {
  const written: Array<StoreBackend.PendingEvent> = []
  const reads: Array<{ readonly version: number; readonly except: unknown }> = []
  const failure = (operation: string) =>
    Effect.fail(new EventStore.StoreError({ operation, cause: new Error("connection reset") }))
  const self: StoreBackend.Backend = {
    currentVersion: fail.has("currentVersion") ? failure("read the version") : Effect.succeed(StreamVersion.make(2)),
    committedAfter: (version, except) => {
      reads.push({ version, except })
      return fail.has("committedAfter") ? failure("read committed events") : Effect.succeed([stored(2, "Created")])
    },
    findIds: () => fail.has("findIds") ? failure("look up ids") : Effect.succeed([]),
    write: (records) => {
      if (fail.has("write")) return failure("write")
      written.push(...records)
      return Effect.void
    }
  }
  return { self, written, reads }
}

const noted = { id: Event.EventId.make("n-1"), type: "Noted", data: {} }

describe("StoreBackend.append", () => {
  it.effect.each(["currentVersion", "committedAfter", "findIds", "write"] as const)(
    "a backend whose %s fails surfaces a typed StoreError, never a defect, and nothing is written",
    (operation) =>
      Effect.gen(function*() {
        const { self, written } = backend(new Set([operation]))
        // Stale, with ids: every operation of the backend is reached.
        const exit = yield* Effect.exit(
          StoreBackend.append(self, registry, streamId, ExpectedVersion.exact(1), [noted])
        )
        expect(Exit.isFailure(exit) && Cause.isFailType(exit.cause)).toBe(true)
        const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
        expect(Option.getOrThrow(error)).toBeInstanceOf(EventStore.StoreError)
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(false)
        expect(written).toEqual([])
      })
  )

  it.effect("narrows the read of the delta by exclusion only, so committed types the registry does not know are read", () =>
    Effect.gen(function*() {
      const { reads, self } = backend(new Set())
      const append = (type: string) =>
        StoreBackend.append(self, registry, streamId, ExpectedVersion.exact(1), [{ type, data: {} }])
      // Noted conflicts only with Deleted among the known types: the others may be left out, nothing else.
      expect(yield* append("Noted")).toMatchObject({ firstVersion: 3, rebasedOver: 1 })
      // never: nothing to read; an unknown proposed type conflicts with everything: read it all.
      yield* append("Renamed")
      yield* Effect.flip(append("Imported"))
      expect(reads).toEqual([
        { version: 1, except: ["Noted", "Renamed", "Created"] },
        { version: 1, except: [] }
      ])
    }))
})
