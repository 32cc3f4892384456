import { Conflict, Event, EventStore, EventStoreError, StreamId, StreamVersion } from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"

const streamId = StreamId.make("doc-1")
const version = StreamVersion.make

const errors = {
  ConcurrencyConflict: {
    guard: Conflict.isConcurrencyConflict,
    typeId: Conflict.ConcurrencyConflictTypeId,
    schema: Conflict.ConcurrencyConflict,
    error: new Conflict.ConcurrencyConflict({
      streamId,
      expectedVersion: version(1),
      actualVersion: version(2),
      conflicts: [{
        proposedIndex: 0,
        proposedType: "A",
        committedId: Event.EventId.make("e2"),
        committedVersion: version(2),
        committedType: "B"
      }],
      committedEvents: [{
        id: Event.EventId.make("e2"),
        version: version(2),
        type: "B",
        data: { n: 1 },
        metadata: { by: "x" }
      }],
      committedEventsTruncated: false
    })
  },
  WrongExpectedVersion: {
    guard: Conflict.isWrongExpectedVersion,
    typeId: Conflict.WrongExpectedVersionTypeId,
    schema: Conflict.WrongExpectedVersion,
    error: new Conflict.WrongExpectedVersion({ streamId, expectedVersion: version(3), actualVersion: version(1) })
  },
  DuplicateEventId: {
    guard: EventStoreError.isDuplicateEventId,
    typeId: EventStoreError.DuplicateEventIdTypeId,
    schema: EventStoreError.DuplicateEventId,
    error: new EventStoreError.DuplicateEventId({ streamId, eventIds: [Event.EventId.make("e1")] })
  },
  InvalidEventData: {
    guard: EventStoreError.isInvalidEventData,
    typeId: EventStoreError.InvalidEventDataTypeId,
    schema: EventStoreError.InvalidEventData,
    error: new EventStoreError.InvalidEventData({ streamId, index: 0, type: "A", reason: "NaN" })
  },
  InvalidArgument: {
    guard: EventStoreError.isInvalidArgument,
    typeId: EventStoreError.InvalidArgumentTypeId,
    schema: EventStoreError.InvalidArgument,
    // The id as the caller gave it, which no StreamId holds.
    error: new EventStoreError.InvalidArgument({ operation: "read", streamId: "a\u0000b", reason: "NUL" })
  },
  UndecodableEvent: {
    guard: EventStoreError.isUndecodableEvent,
    typeId: EventStoreError.UndecodableEventTypeId,
    schema: EventStoreError.UndecodableEvent,
    error: new EventStoreError.UndecodableEvent({ streamId, version: version(1), type: "A", reason: "no" })
  },
  StoreError: {
    guard: EventStoreError.isStoreError,
    typeId: EventStoreError.StoreErrorTypeId,
    schema: EventStoreError.StoreError,
    error: new EventStoreError.StoreError({ operation: "read", cause: new Error("down") })
  },
  AppendTimeout: {
    guard: EventStoreError.isAppendTimeout,
    typeId: EventStoreError.AppendTimeoutTypeId,
    schema: EventStoreError.AppendTimeout,
    error: new EventStoreError.AppendTimeout({ streamId: "doc-1", timeoutMillis: 5000, mayHaveCommitted: true })
  }
} as const

const entries = Object.entries(errors) as Array<[keyof typeof errors, (typeof errors)[keyof typeof errors]]>

describe("error guards", () => {
  it.each(entries)("is%s recognises its errors only", (tag, { error, guard }) => {
    expect(error._tag).toBe(tag)
    for (const [other, { error: otherError }] of entries) expect(guard(otherError), other).toBe(other === tag)
  })

  it.each(entries)("is%s is false for a plain object with the same tag and fields", (_, { error, guard }) => {
    expect(guard({ ...error, _tag: error._tag })).toBe(false)
    expect(guard(JSON.parse(JSON.stringify(error)))).toBe(false)
    for (const value of [undefined, null, error._tag, 0, {}]) expect(guard(value)).toBe(false)
  })

  it.each(entries)("is%s is true for an error decoded from its encoded form, as the client gets it", (_, entry) => {
    const schema = entry.schema as unknown as Schema.Schema<unknown, unknown>
    const decoded = Schema.decodeUnknownSync(schema)(Schema.encodeSync(schema)(entry.error))
    expect(entry.guard(decoded)).toBe(true)
  })

  it("the type id is on the prototype: instances have no symbol of their own and compare as before", () => {
    for (const [tag, { error, typeId }] of entries) {
      expect(typeId in error, tag).toBe(true)
      expect(Object.getOwnPropertySymbols(error), tag).not.toContain(typeId)
    }
    const error = errors.WrongExpectedVersion.error
    expect(error).toEqual(new Conflict.WrongExpectedVersion({ ...error }))
    expect(error).toMatchObject({ _tag: "WrongExpectedVersion", streamId, expectedVersion: 3, actualVersion: 1 })
    expect(error[Conflict.WrongExpectedVersionTypeId]).toBe(Conflict.WrongExpectedVersionTypeId)
  })

  it("each module's union guard covers its own errors", () => {
    for (const [tag, { error }] of entries) {
      expect(Conflict.isVersionError(error), tag).toBe(tag === "ConcurrencyConflict" || tag === "WrongExpectedVersion")
      expect(EventStoreError.isEventStoreError(error), tag).toBe(
        tag !== "ConcurrencyConflict" && tag !== "WrongExpectedVersion"
      )
    }
  })

  it("EventStore still names the store's errors: the same classes", () => {
    expect(EventStore.StoreError).toBe(EventStoreError.StoreError)
    expect(EventStore.DuplicateEventId).toBe(EventStoreError.DuplicateEventId)
    expect(EventStore.InvalidEventData).toBe(EventStoreError.InvalidEventData)
    expect(EventStore.UndecodableEvent).toBe(EventStoreError.UndecodableEvent)
    expect(EventStore.InvalidArgument).toBe(EventStoreError.InvalidArgument)
    expect(EventStore.AppendTimeout).toBe(EventStoreError.AppendTimeout)
  })

  it("AppendTimeout's message names the stream and the deadline, and says whether the batch may be stored", () => {
    const timeout = (mayHaveCommitted: boolean) =>
      new EventStoreError.AppendTimeout({ streamId: "doc-1", timeoutMillis: 250, mayHaveCommitted })
    expect(timeout(false).message).toBe(
      "stream \"doc-1\": the append did not finish within 250 ms; nothing was written"
    )
    expect(timeout(true).message).toBe(
      "stream \"doc-1\": the append did not finish within 250 ms; it may have been committed: send the same events " +
        "with the same ids again to learn its outcome"
    )
    const long = new EventStoreError.AppendTimeout({
      streamId: "x".repeat(600),
      timeoutMillis: 1,
      mayHaveCommitted: false
    })
    expect(long.message).toBe(
      `stream "${"x".repeat(100)}"… (600 characters): the append did not finish within 1 ms; nothing was written`
    )
  })

  it("AppendTimeout keeps mayHaveCommitted through its encoded form, as the client gets it", () => {
    for (const mayHaveCommitted of [false, true]) {
      const error = new EventStoreError.AppendTimeout({ streamId: "doc-1", timeoutMillis: 250, mayHaveCommitted })
      const encoded = Schema.encodeSync(EventStoreError.AppendTimeout)(error)
      expect(encoded).toEqual({ _tag: "AppendTimeout", streamId: "doc-1", timeoutMillis: 250, mayHaveCommitted })
      const decoded = Schema.decodeUnknownSync(EventStoreError.AppendTimeout)(JSON.parse(JSON.stringify(encoded)))
      expect(EventStoreError.isAppendTimeout(decoded)).toBe(true)
      expect(decoded).toEqual(error)
      expect(decoded.message).toBe(error.message)
    }
  })

  it("InvalidArgument's message names the operation and shows the id as given, cut short when long", () => {
    const empty = new EventStoreError.InvalidArgument({ operation: "append", streamId: "", reason: "empty" })
    expect(empty.message).toBe("cannot append to stream \"\": empty")
    const nul = new EventStoreError.InvalidArgument({ operation: "version", streamId: "a\u0000b", reason: "NUL" })
    expect(nul.message).toBe("cannot read the version of stream \"a\\u0000b\": NUL")
    const long = new EventStoreError.InvalidArgument({ operation: "read", streamId: "x".repeat(600), reason: "long" })
    expect(long.message).toBe(`cannot read stream "${"x".repeat(100)}"… (600 characters): long`)
  })
})
