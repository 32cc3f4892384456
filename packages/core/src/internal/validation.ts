// What every store checks before anything is read: the stream id, the expected version, and each event's type, id,
// data and metadata, whatever the caller's types said. Every append passes here, so each rule is a plain check and
// its Schema only words the message when the check refuses.
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Event from "../Event.js"
import { DuplicateEventId, InvalidArgument, InvalidEventData } from "../EventStoreError.js"
import type { ExpectedVersion } from "../ExpectedVersion.js"
import * as StreamId from "../StreamId.js"
import * as StreamVersion from "../StreamVersion.js"
import { jsonProblem } from "./json.js"
import { isPosition } from "./position.js"
import { isStreamId, storableOfLength } from "./text.js"

/**
 * Why a value the caller built without its Schema (EventData's type is a plain string, an id or a version may be cast)
 * is not one, or `undefined`. The Schema is the declared rule; `fast` is the same rule written as plain checks, because
 * every append passes here. The Schema words the message, through `explain`, only when `fast` refuses.
 */
const check = <A>(
  schema: Schema.Schema<any, any>,
  fast: (value: A) => boolean,
  explain: (error: ParseResult.ParseError) => string
) => {
  const decode = Schema.decodeUnknownEither(schema)
  return (value: A): string | undefined =>
    fast(value) ? undefined : Either.match(decode(value), { onLeft: explain, onRight: () => undefined })
}

/** An event field's reason: the field, then the Schema's tree of issues. */
const fieldReason = (field: string) => (error: ParseResult.ParseError) =>
  `${field}: ${ParseResult.TreeFormatter.formatErrorSync(error)}`

/** An argument's reason in one line: each issue after the argument's name and the path to it. */
const argumentReason = (name: string) => (error: ParseResult.ParseError) =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => `${[name, ...issue.path].join(".")}: ${issue.message}`)
    .join("; ")

/** @internal */
export const isEventType = storableOfLength(1, 256)

/** @internal */
export const isEventId = storableOfLength(1, 128)

const typeProblem = check(Event.EventType, isEventType, fieldReason("type"))
const idProblem = check(Event.EventId, isEventId, fieldReason("id"))

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

const streamIdReason = check(StreamId.StreamId, isStreamId, argumentReason("streamId"))
const expectedVersionReason = check(ExpectedVersionArgument, isExpectedVersion, argumentReason("expectedVersion"))

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
 * characters, no NUL, no unpaired surrogate, not `.` or `..`), whatever the caller's types said.
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

/**
 * Checks the options of `readAll` or `subscribe` before anything is read, whatever the caller's types said: they are
 * an object, `after` is a `Position` (or `"end"` for `subscribe`), `readAll`'s `limit` is a number (any number: it is
 * read as a stream read's), and a filter is an object whose `types` and `categories` are arrays of strings.
 *
 * @internal
 */
export const validateReadAll = (
  operation: "readAll" | "subscribe",
  options: { readonly after?: unknown; readonly limit?: unknown; readonly filter?: unknown } | undefined
): Effect.Effect<void, InvalidArgument> => {
  const reason = readAllProblem(operation, options)
  return reason === undefined ? Effect.void : Effect.fail(new InvalidArgument({ operation, reason }))
}

const readAllProblem = (
  operation: "readAll" | "subscribe",
  options: { readonly after?: unknown; readonly limit?: unknown; readonly filter?: unknown } | undefined
): string | undefined => {
  if (options === undefined) return undefined
  if (typeof options !== "object" || options === null) return "the options must be an object"
  const after = options.after
  if (after !== undefined && !isPosition(after) && !(operation === "subscribe" && after === "end")) {
    return operation === "subscribe"
      ? "after must be a Position or \"end\""
      : "after must be a Position"
  }
  if (operation === "readAll" && options.limit !== undefined && typeof options.limit !== "number") {
    return "limit must be a number"
  }
  const filter = options.filter
  if (filter === undefined) return undefined
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) return "filter must be an object"
  for (const key of ["types", "categories"] as const) {
    const list = (filter as Record<string, unknown>)[key]
    if (list !== undefined && (!Array.isArray(list) || !list.every((item) => typeof item === "string"))) {
      return `filter.${key} must be an array of strings`
    }
  }
  return undefined
}
