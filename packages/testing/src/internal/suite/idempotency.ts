// Idempotency: a batch re-sent with the same event ids is answered with the original result; a partial overlap of ids
// is refused.
import { EventStore, ExpectedVersion } from "@concord/core"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { event, freshStream, options, type StoreTests } from "./fixtures.js"

export const idempotency = (it: StoreTests): void => {
  it.effect("re-sending a batch with the same ids returns the original result and writes nothing", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      yield* store.append(id, ExpectedVersion.noStream, [event("Created")], options)
      yield* store.append(id, ExpectedVersion.exact(1), [event("Noted")], options)
      const batch = [event("Noted", {}, `a-${id}`), event("Tagged", { tag: "t" }, `b-${id}`)]
      const first = yield* store.append(id, ExpectedVersion.exact(1), batch, options)
      expect(first).toEqual({ streamId: id, firstVersion: 3, lastVersion: 4, rebasedOver: 1 })
      yield* store.append(id, ExpectedVersion.exact(4), [event("Noted")], options)
      expect(yield* store.append(id, ExpectedVersion.exact(1), batch, options)).toEqual(first)
      expect(yield* store.append(id, ExpectedVersion.any, batch, options)).toEqual(first)
      expect(yield* store.version(id)).toBe(5)
    }))

  it.effect("a partial overlap of ids fails with DuplicateEventId and writes nothing", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      const other = freshStream()
      yield* store.append(id, ExpectedVersion.noStream, [
        event("Noted", {}, `a-${id}`),
        event("Noted", {}, `b-${id}`)
      ])
      const cases = [
        [id, [event("Noted", {}, `a-${id}`), event("Noted", {}, `c-${id}`)]],
        [id, [event("Noted", {}, `b-${id}`)]],
        [id, [event("Noted", {}, `b-${id}`), event("Noted", {}, `a-${id}`)]],
        [other, [event("Noted", {}, `a-${id}`), event("Noted", {}, `b-${id}`)]],
        [id, [event("Noted", {}, `d-${id}`), event("Noted", {}, `d-${id}`)]]
      ] as const
      for (const [stream, batch] of cases) {
        const error = yield* Effect.flip(store.append(stream, ExpectedVersion.any, batch))
        expect(error._tag).toBe("DuplicateEventId")
      }
      expect(yield* store.version(id)).toBe(2)
      expect(yield* store.version(other)).toBe(0)
    }))
}
