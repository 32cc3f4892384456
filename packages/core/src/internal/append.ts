import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Conflict from "../Conflict.js"
import * as ConflictRegistry from "../ConflictRegistry.js"
import * as Event from "../Event.js"
import type { AppendError, AppendResult } from "../EventStore.js"
import { DuplicateEventId, InvalidArgument, InvalidEventData, type StoreError } from "../EventStoreError.js"
import type { ExpectedVersion } from "../ExpectedVersion.js"
import * as StreamId from "../StreamId.js"
import * as StreamVersion from "../StreamVersion.js"
import { jsonProblem } from "./json.js"
import { isStreamId, storableOfLength } from "./text.js"

/**
 * Where a stored event id lives, and the result of the append that stored it, so that a re-sent batch is recognised
 * as a whole and gets its original result back.
 *
 * @internal
 */
export interface StoredId {
  readonly id: Event.EventId
  readonly version: StreamVersion.StreamVersion
  readonly batch: AppendResult
}

/**
 * What a backend offers inside its per-stream critical section: nothing else may append to the stream between
 * `currentVersion` (the first call, which may take the lock) and `write`.
 *
 * @internal
 */
export interface Backend<E = never> {
  readonly currentVersion: Effect.Effect<StreamVersion.StreamVersion, StoreError>
  /**
   * Committed events with a version above `version`, in order. Events whose type is in `except` cannot clash with
   * the batch: a backend may leave them out (`type NOT IN except`) or return them all. It is an exclusion list, not
   * a list of types to read, because committed events of types the registry does not know clash with every rule.
   */
  readonly committedAfter: (
    version: StreamVersion.StreamVersion,
    except: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<Conflict.Committed>, StoreError>
  readonly findIds: (ids: ReadonlyArray<Event.EventId>) => Effect.Effect<ReadonlyArray<StoredId>, StoreError>
  readonly write: (
    events: ReadonlyArray<Event.RecordedEvent>,
    batch: AppendResult
  ) => Effect.Effect<void, StoreError | DuplicateEventId | E>
}

/**
 * Why a type or id the caller built without its Schema (EventData's type is a plain string, an id may be cast) is not
 * one, or `undefined`. The Schema is the declared rule; `fast` is the same rule written as plain checks, because every
 * event of every append passes here. The Schema formats the message when `fast` refuses.
 */
const stringCheck = (schema: Schema.Schema<any, string>, field: string, fast: (value: string) => boolean) => {
  const decode = Schema.decodeUnknownEither(schema)
  return (value: string): string | undefined =>
    fast(value) ? undefined : Either.match(decode(value), {
      onLeft: (error) => `${field}: ${ParseResult.TreeFormatter.formatErrorSync(error)}`,
      onRight: () => undefined
    })
}

/** @internal */
export const isEventType = storableOfLength(1, 256)

/** @internal */
export const isEventId = storableOfLength(1, 128)

const typeProblem = stringCheck(Event.EventType, "type", isEventType)
const idProblem = stringCheck(Event.EventId, "id", isEventId)

/**
 * The store operations that take a stream id, as {@link InvalidArgument} names them.
 *
 * @internal
 */
export type Operation = InvalidArgument["operation"]

/**
 * The expected versions every store takes, as a Schema that explains a refusal: `Any`, or `Exact` with a whole number
 * from 0 to `StreamVersion.max` (the SQL stores keep versions in 32-bit columns). It checks the shape rather than the
 * class, as the flow reads only `_tag` and `version`, so a hand-built value that has both right is accepted.
 */
const ExpectedVersionArgument = Schema.Union(
  Schema.Struct({ _tag: Schema.Literal("Any") }),
  Schema.Struct({
    _tag: Schema.Literal("Exact"),
    version: Schema.Number.pipe(
      Schema.int({ message: (issue) => versionMessage(issue.actual) }),
      Schema.between(0, StreamVersion.max, { message: (issue) => versionMessage(issue.actual) })
    )
  })
).annotations({ identifier: "ExpectedVersion" })

const versionMessage = (actual: unknown) =>
  `must be a whole number from 0 to ${StreamVersion.max} (StreamVersion.max), not ${String(actual)}`

const isExpectedVersion = (expected: ExpectedVersion): boolean => {
  if (typeof expected !== "object" || expected === null) return false
  if (expected._tag === "Any") return true
  const version: number = expected.version
  return expected._tag === "Exact" && Number.isInteger(version) && version >= 0 && version <= StreamVersion.max
}

/**
 * Why an argument the caller built without its Schema is not one, or `undefined`: `fast` is the rule as plain checks,
 * and when it refuses, the Schema says why in one line, each issue after the argument's name and the path to it (the
 * Schema is the declared rule: what it accepts passes).
 */
const argumentCheck = <A>(schema: Schema.Schema<any, any>, name: string, fast: (value: A) => boolean) => {
  const decode = Schema.decodeUnknownEither(schema)
  return (value: A): string | undefined =>
    fast(value) ? undefined : Either.match(decode(value), {
      onLeft: (error) =>
        ParseResult.ArrayFormatter.formatErrorSync(error)
          .map((issue) => `${[name, ...issue.path].join(".")}: ${issue.message}`)
          .join("; "),
      onRight: () => undefined
    })
}

const streamIdReason = argumentCheck(StreamId.StreamId, "streamId", isStreamId)
const expectedVersionReason = argumentCheck(ExpectedVersionArgument, "expectedVersion", isExpectedVersion)

/** A stream id as the error keeps it: the caller's string, or the text of whatever else was passed as one. */
const asText = (value: unknown): string => {
  if (typeof value === "string") return value
  try {
    return String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/**
 * Why a stream id given to `operation` is not one, or `undefined`: it must be what `StreamId` accepts (1 to 512
 * characters, no NUL, no unpaired surrogate), whatever the caller's types said.
 *
 * @internal
 */
export const streamIdProblem = (operation: Operation, streamId: StreamId.StreamId): InvalidArgument | undefined => {
  const reason = streamIdReason(streamId)
  return reason === undefined ? undefined : new InvalidArgument({ operation, streamId: asText(streamId), reason })
}

/**
 * Checks a stream id given to `operation`, as every store's `read` and `version` do before anything is read.
 *
 * @internal
 */
export const validateStreamId = (
  operation: Operation,
  streamId: StreamId.StreamId
): Effect.Effect<void, InvalidArgument> => {
  const invalid = streamIdProblem(operation, streamId)
  return invalid === undefined ? Effect.void : Effect.fail(invalid)
}

/**
 * What is wrong with an append before anything is read, or `undefined`, in this order: the stream id, the expected
 * version (`Any`, or `Exact` with a whole number from 0 to `StreamVersion.max`), then the batch: types and ids valid,
 * ids unique within it, data and metadata that JSON carries exactly.
 *
 * @internal
 */
export const problem = (
  streamId: StreamId.StreamId,
  expected: ExpectedVersion,
  events: ReadonlyArray<Event.EventData>
): InvalidArgument | InvalidEventData | DuplicateEventId | undefined => {
  const invalidId = streamIdProblem("append", streamId)
  if (invalidId !== undefined) return invalidId
  const versionReason = expectedVersionReason(expected)
  if (versionReason !== undefined) {
    return new InvalidArgument({ operation: "append", streamId, reason: versionReason })
  }
  let ids: Set<string> | undefined
  let repeated: Array<Event.EventId> | undefined
  for (let index = 0; index < events.length; index++) {
    const event = events[index]!
    const invalid = typeProblem(event.type) ?? (event.id === undefined ? undefined : idProblem(event.id)) ??
      jsonProblem(event.data, "data") ??
      (event.metadata === undefined ? undefined : jsonProblem(event.metadata, "metadata"))
    if (invalid !== undefined) return new InvalidEventData({ streamId, index, type: event.type, reason: invalid })
    if (event.id === undefined) continue
    ids ??= new Set()
    if (ids.has(event.id)) (repeated ??= []).push(event.id)
    ids.add(event.id)
  }
  return repeated === undefined ? undefined : new DuplicateEventId({ streamId, eventIds: repeated })
}

/**
 * Checks an append before anything is read: what {@link problem} checks.
 *
 * @internal
 */
export const validate = (
  streamId: StreamId.StreamId,
  expected: ExpectedVersion,
  events: ReadonlyArray<Event.EventData>
): Effect.Effect<void, InvalidArgument | InvalidEventData | DuplicateEventId> => {
  const invalid = problem(streamId, expected, events)
  return invalid === undefined ? Effect.void : Effect.fail(invalid)
}

const result = (
  streamId: StreamId.StreamId,
  firstVersion: number,
  lastVersion: number,
  rebasedOver: number
): AppendResult => ({
  streamId,
  firstVersion: StreamVersion.unsafeMake(firstVersion),
  lastVersion: StreamVersion.unsafeMake(lastVersion),
  rebasedOver
})

/**
 * A batch whose ids are exactly those of one stored batch of this stream, in the same order, was appended before:
 * its original result. Any other overlap with stored ids is an error.
 */
const replay = (
  streamId: StreamId.StreamId,
  events: ReadonlyArray<Event.EventData>,
  stored: ReadonlyArray<StoredId>
): Either.Either<AppendResult, DuplicateEventId> => {
  const byId = new Map(stored.map((entry) => [entry.id as string, entry]))
  const batch = byId.get(events[0]?.id ?? "")?.batch
  const sameBatch = batch !== undefined && batch.streamId === streamId &&
    batch.lastVersion - batch.firstVersion + 1 === events.length &&
    events.every((event, i) => byId.get(event.id ?? "")?.version === batch.firstVersion + i)
  return sameBatch
    ? Either.right(batch)
    : Either.left(new DuplicateEventId({ streamId, eventIds: stored.map((entry) => entry.id) }))
}

/**
 * The known committed types no event of the batch can clash with, which a backend may leave unread ("nothing": no
 * event of the batch can clash with anything, so nothing need be read). Types the registry does not know clash with
 * every rule but `never`, so the read is narrowed by exclusion, never by a list of the types that clash.
 */
const ignoredTypes = (
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  events: ReadonlyArray<Event.EventData>
): ReadonlyArray<string> | "nothing" => {
  let ignored: ReadonlyArray<string> | undefined
  for (const event of events) {
    const rule = ConflictRegistry.committedTypesFor(registry, event.type)
    if (rule._tag === "All") return noTypes
    if (rule.types.length === 0) continue // never
    ignored = ignored === undefined || ignored === rule.ignored
      ? rule.ignored
      : ignored.filter((type) => rule.ignored.includes(type))
  }
  return ignored ?? "nothing"
}

const noTypes: ReadonlyArray<string> = []

/**
 * What the shared flow asks of a backend, in order: a driver performs each request and resumes the flow with the
 * answer (the version, the stored ids, the committed events, the time, nothing after a write).
 */
type Request =
  | { readonly _tag: "CurrentVersion" }
  | { readonly _tag: "FindIds"; readonly ids: ReadonlyArray<Event.EventId> }
  | {
    readonly _tag: "CommittedAfter"
    readonly version: StreamVersion.StreamVersion
    readonly except: ReadonlyArray<string>
  }
  | { readonly _tag: "Now" }
  | { readonly _tag: "Write"; readonly records: ReadonlyArray<Event.RecordedEvent>; readonly batch: AppendResult }

/** The metadata of events that bring none: one frozen empty object, rather than one per event a store may keep. */
export const noMetadata: Event.Metadata = Object.freeze({})

const currentVersion: Request = { _tag: "CurrentVersion" }
const now: Request = { _tag: "Now" }

/**
 * The append semantics every store shares, written once as a plain generator over its requests to the backend, so
 * that a synchronous backend runs it in one synchronous step and an effectful one runs it as an Effect. Each `yield`
 * is answered with what its request asks for.
 */
function* flow(
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  streamId: StreamId.StreamId,
  expected: ExpectedVersion,
  events: ReadonlyArray<Event.EventData>
): Generator<Request, Either.Either<AppendResult, AppendError>, any> {
  const invalid = problem(streamId, expected, events)
  if (invalid !== undefined) return Either.left(invalid)
  const current: StreamVersion.StreamVersion = yield currentVersion
  let ids: Array<Event.EventId> | undefined
  for (const event of events) if (event.id !== undefined) (ids ??= []).push(event.id)
  if (ids !== undefined) {
    const stored: ReadonlyArray<StoredId> = yield { _tag: "FindIds", ids }
    if (stored.length > 0) return replay(streamId, events, stored)
  }
  let rebasedOver = 0
  if (expected._tag === "Exact" && expected.version !== current) {
    if (expected.version > current) {
      return Either.left(
        new Conflict.WrongExpectedVersion({ streamId, expectedVersion: expected.version, actualVersion: current })
      )
    }
    const except = ignoredTypes(registry, events)
    if (events.length > 0 && except !== "nothing") {
      const committed: ReadonlyArray<Conflict.Committed> = yield {
        _tag: "CommittedAfter",
        version: expected.version,
        except
      }
      const pairs = Conflict.detect(registry, committed, events)
      if (pairs.length > 0) {
        return Either.left(
          new Conflict.ConcurrencyConflict({
            streamId,
            expectedVersion: expected.version,
            actualVersion: current,
            conflicts: pairs as [Conflict.ConflictingPair, ...Array<Conflict.ConflictingPair>]
          })
        )
      }
    }
    rebasedOver = current - expected.version
  }
  if (events.length === 0) return Either.right(result(streamId, current + 1, current, 0))
  const recordedAt = new Date(yield now)
  const records: Array<Event.RecordedEvent> = new Array(events.length)
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!
    records[i] = {
      id: event.id ?? Event.makeId(),
      streamId,
      version: StreamVersion.unsafeMake(current + 1 + i),
      type: event.type,
      data: event.data,
      metadata: event.metadata ?? noMetadata,
      recordedAt
    }
  }
  const batch = result(streamId, current + 1, current + events.length, rebasedOver)
  yield { _tag: "Write", records, batch }
  return Either.right(batch)
}

/**
 * The append semantics every store shares, run inside the backend's per-stream critical section.
 *
 * @internal
 */
export const append = <E>(
  backend: Backend<E>,
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  streamId: StreamId.StreamId,
  expected: ExpectedVersion,
  events: ReadonlyArray<Event.EventData>
): Effect.Effect<AppendResult, AppendError | E> =>
  Effect.suspend(() => {
    // A fresh generator each time the Effect runs, so that a retried append starts over.
    const steps = flow(registry, streamId, expected, events)
    const resume = (answer?: unknown): Effect.Effect<AppendResult, AppendError | E> => {
      const step = steps.next(answer)
      return step.done ? step.value : Effect.flatMap(perform(backend, step.value), resume)
    }
    return resume()
  })

const perform = <E>(
  backend: Backend<E>,
  request: Request
): Effect.Effect<unknown, StoreError | DuplicateEventId | E> => {
  switch (request._tag) {
    case "CurrentVersion":
      return backend.currentVersion
    case "FindIds":
      return backend.findIds(request.ids)
    case "CommittedAfter":
      return backend.committedAfter(request.version, request.except)
    case "Now":
      return Clock.currentTimeMillis
    case "Write":
      return backend.write(request.records, request.batch)
  }
}

/**
 * A backend whose operations complete at once: the whole append then runs as one synchronous step, which no other
 * fiber can interleave with (JavaScript runs one thing at a time), so it needs no lock.
 *
 * @internal
 */
export interface SyncBackend {
  readonly currentVersion: (stream: StreamId.StreamId) => StreamVersion.StreamVersion
  readonly committedAfter: (
    stream: StreamId.StreamId,
    version: StreamVersion.StreamVersion,
    except: ReadonlyArray<string>
  ) => ReadonlyArray<Conflict.Committed>
  readonly findIds: (ids: ReadonlyArray<Event.EventId>) => ReadonlyArray<StoredId>
  readonly write: (stream: StreamId.StreamId, events: ReadonlyArray<Event.RecordedEvent>, batch: AppendResult) => void
}

/**
 * The same semantics as `append`, run synchronously against a synchronous backend; the time of the records is the
 * given Clock's.
 *
 * @internal
 */
export const appendSync = (
  backend: SyncBackend,
  clock: Clock.Clock,
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  streamId: StreamId.StreamId,
  expected: ExpectedVersion,
  events: ReadonlyArray<Event.EventData>
): Either.Either<AppendResult, AppendError> => {
  const steps = flow(registry, streamId, expected, events)
  let step = steps.next()
  while (!step.done) {
    const request = step.value
    switch (request._tag) {
      case "CurrentVersion":
        step = steps.next(backend.currentVersion(streamId))
        break
      case "FindIds":
        step = steps.next(backend.findIds(request.ids))
        break
      case "CommittedAfter":
        step = steps.next(backend.committedAfter(streamId, request.version, request.except))
        break
      case "Now":
        step = steps.next(clock.unsafeCurrentTimeMillis())
        break
      case "Write":
        backend.write(streamId, request.records, request.batch)
        step = steps.next()
        break
    }
  }
  return step.value
}
