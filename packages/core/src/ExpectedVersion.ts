/**
 * What a writer believes the version of a stream to be when it appends: the version it read, `noStream` when it
 * creates the stream, or `any` when it does not care.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as StreamVersion from "./StreamVersion.js"

/**
 * Append whatever the stream holds, with no check.
 *
 * @since 0.1.0
 * @category models
 */
export class Any extends Schema.TaggedClass<Any>()("Any", {}) {}

/**
 * Append only if the stream is at this version, or if every event committed since then is one the registry lets
 * the new events pass.
 *
 * @since 0.1.0
 * @category models
 */
export class Exact extends Schema.TaggedClass<Exact>()("Exact", { version: StreamVersion.StreamVersion }) {}

/**
 * @since 0.1.0
 * @category schemas
 */
export const ExpectedVersion = Schema.Union(Any, Exact)

/**
 * @since 0.1.0
 * @category models
 */
export type ExpectedVersion = typeof ExpectedVersion.Type

/**
 * @since 0.1.0
 * @category constructors
 */
export const any: ExpectedVersion = new Any()

/**
 * The version a writer read, for a version the program holds (one a store or `CommandHandler.load` returned).
 * Throws a `RangeError` when it is not a stream version: a negative, fractional, `NaN` or infinite number, or one
 * past `Number.MAX_SAFE_INTEGER`. A version from outside the program (a request, a file) goes through a Schema
 * instead, {@link FromJson} or {@link ExpectedVersion}, whose decoding fails with a `ParseError` rather than throwing.
 *
 * @since 0.1.0
 * @category constructors
 */
export const exact = (version: number): ExpectedVersion => unsafeExact(StreamVersion.make(version))

/**
 * An `Exact` for a version already known to be valid, built as the class's constructor builds it (the same own
 * properties on the same prototype) without its generic machinery, which costs a microsecond on every append.
 */
const unsafeExact = (version: StreamVersion.StreamVersion): Exact => {
  const self = Object.create(Exact.prototype) as { version: StreamVersion.StreamVersion; _tag: "Exact" }
  self.version = version
  self._tag = "Exact"
  return self as Exact
}

/**
 * The stream must not exist yet: exactly version 0. A second creator therefore meets the whole stream as events
 * committed since its expectation, and the registry decides.
 *
 * @since 0.1.0
 * @category constructors
 */
export const noStream: ExpectedVersion = exact(0)

const versionMessage =
  `an expected version must be "any", "noStream" or a whole number from 0 to ${StreamVersion.max} ` +
  `(StreamVersion.max)`

/**
 * A version number on the wire: checked against the range first, so that a number too large for any stream (1e20,
 * which is not a safe integer either) is told so rather than that it is not an integer.
 */
const WireVersion = Schema.Number.pipe(
  Schema.between(0, StreamVersion.max, { message: () => versionMessage }),
  Schema.int({ message: () => versionMessage })
)

/**
 * The wire form: `"any"`, `"noStream"` or a version number, a whole number from 0 to `StreamVersion.max` (no stream
 * gets further, and every store refuses more).
 *
 * @since 0.1.0
 * @category schemas
 */
export const FromJson: Schema.Schema<ExpectedVersion, "any" | "noStream" | number> = Schema.transform(
  Schema.Union(Schema.Literal("any", "noStream"), WireVersion),
  Schema.typeSchema(ExpectedVersion),
  {
    strict: true,
    decode: (wire) => wire === "any" ? any : wire === "noStream" ? noStream : exact(wire),
    encode: (expected) => expected._tag === "Any" ? "any" : expected.version
  }
).annotations({
  identifier: "ExpectedVersion",
  description: "\"any\", \"noStream\" (version 0) or the version the writer read"
})
