// `concord tail`: its options, how it prints an event, and the subscription it prints until interrupted.
import { Event, EventStore, Position } from "@concord/core"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import process from "node:process"
import * as ConcordClient from "../ConcordClient.js"

/** Where a tail starts: after a position, or at the end of the log. @internal */
export type Start = Position.Position | "end"

const decodePosition = Schema.decodeEither(Position.FromString)

/** Reads `--after`: `end`, or a position's string form; a bad value is refused with a message naming the flag. @internal */
export const parseAfter = (text: string): Either.Either<Start, string> => {
  if (text === "end") return Either.right("end")
  return Either.mapLeft(
    decodePosition(text),
    (error) => `--after takes a position or "end": ${ParseResult.ArrayFormatter.formatErrorSync(error)[0]?.message}`
  )
}

/**
 * Reads a list flag, given any number of times, each a comma-separated list: `undefined` when it is not given (no
 * filter), and refused when it is given but names nothing (an empty list would match no event, and print nothing
 * forever).
 *
 * @internal
 */
export const parseList = (
  flag: string,
  values: ReadonlyArray<string>
): Either.Either<ReadonlyArray<string> | undefined, string> => {
  if (values.length === 0) return Either.right(undefined)
  const items = values.flatMap((value) => value.split(",")).map((item) => item.trim()).filter((item) => item !== "")
  return items.length === 0
    ? Either.left(`--${flag} takes a comma-separated list that is not empty`)
    : Either.right(Array.from(new Set(items)))
}

const refuse = <A>(parsed: Either.Either<A, string>) =>
  Either.match(parsed, {
    onLeft: (message) => Effect.fail(ValidationError.invalidValue(HelpDoc.p(message))),
    onRight: Effect.succeed
  })

const list = (flag: string, what: string) =>
  Options.text(flag).pipe(
    Options.withDescription(
      `only events ${what}: a comma-separated list; the flag may be given more than once (default: every event)`
    ),
    Options.repeated,
    // Shown as optional in the usage line: a repeated flag may be given no times at all.
    Options.optional,
    Options.mapEffect((values) => refuse(parseList(flag, Option.getOrElse(values, () => []))))
  )

/** The options of `concord tail`. @internal */
export const options = {
  after: Options.text("after").pipe(
    Options.withDescription(
      "where to start: right after a position (\"42\", \"7731.42\"; 0 prints the whole log first) or \"end\", " +
        "only the events committed from now on (default end, as tail -f shows only new lines)"
    ),
    Options.mapEffect((text) => refuse(parseAfter(text))),
    Options.withDefault<Start>("end")
  ),
  types: list("types", "of these types"),
  categories: list("categories", "of streams in these categories (the part of the stream id before the first -)"),
  json: Options.boolean("json").pipe(
    Options.withDescription("print each event as one line of JSON, as GET /events returns it (NDJSON)")
  ),
  url: Options.text("url").pipe(
    Options.withDescription("the service to follow (env CONCORD_URL; default http://127.0.0.1:8080)"),
    Options.withFallbackConfig(Config.string("CONCORD_URL")),
    Options.withDefault("http://127.0.0.1:8080")
  ),
  token: Options.redacted("token").pipe(
    Options.withDescription("the bearer token of a service started with one (env CONCORD_TOKEN)"),
    Options.withFallbackConfig(Config.redacted("CONCORD_TOKEN")),
    Options.optional
  )
}

/** The flags of `concord tail`, parsed. @internal */
export interface Flags {
  readonly after: Start
  readonly types: ReadonlyArray<string> | undefined
  readonly categories: ReadonlyArray<string> | undefined
  readonly json: boolean
  readonly url: string
  readonly token: Option.Option<Redacted.Redacted>
}

// Anything that could break a line apart or run into the next column is printed as a JSON string instead.
const needsQuoting = /[\s"\p{Cc}\p{Zl}\p{Zp}]|^$/u
const field = (text: string) => (needsQuoting.test(text) ? JSON.stringify(text) : text)

/**
 * An event as one line for people: `<position>  <streamId>@<version>  <type>  <data as compact JSON>`, columns two
 * spaces apart. A stream id or type holding a space, a quote or a control character is printed as a JSON string.
 *
 * @internal
 */
export const formatLine = (event: Event.RecordedEvent): string =>
  `${Position.toString(event.position)}  ${field(event.streamId)}@${event.version}  ${field(event.type)}  ${
    JSON.stringify(event.data)
  }`

const encodeEvent = Schema.encodeSync(Event.RecordedEvent)

/** An event as one line of JSON, exactly as `GET /events` carries it (the API encodes with the same Schema). @internal */
export const formatJson = (event: Event.RecordedEvent): string => JSON.stringify(encodeEvent(event))

/** Why following the log failed, in one line, for the command line to print. @internal */
export class TailFailed extends Schema.TaggedError<TailFailed>()("TailFailed", { message: Schema.String }) {}

/** What went wrong with the subscription, from the client's reason when it gives one. */
const reasonOf = (error: EventStore.StoreError | EventStore.InvalidArgument): string => {
  const cause: unknown = error._tag === "StoreError" ? error.cause : undefined
  const reason = typeof cause === "object" && cause !== null && "reason" in cause && typeof cause.reason === "string"
    ? cause.reason
    : error.message
  return /^the service answered 401\b/.test(reason)
    ? `${reason} (give the service's token with --token or CONCORD_TOKEN)`
    : reason
}

/** Whether a write failed because whoever read the output went away (`concord tail | head`). */
const isBrokenPipe = (error: unknown) =>
  typeof error === "object" && error !== null && "code" in error && error.code === "EPIPE"

/**
 * Writes a line to standard output and waits until it is written: a slow reader slows the tail rather than lines
 * piling up in memory. Succeeds with `false` when the reader has gone away.
 */
const writeLine = (line: string): Effect.Effect<boolean, TailFailed> =>
  Effect.async((resume) => {
    process.stdout.write(`${line}\n`, (error) =>
      resume(
        error == null
          ? Effect.succeed(true)
          : isBrokenPipe(error)
          ? Effect.succeed(false)
          : Effect.fail(new TailFailed({ message: `cannot write to the output: ${error.message}` }))
      ))
  })

/**
 * While the tail runs, a failed write is reported to the write's callback: without a listener, standard output would
 * also throw it as an unhandled `error` event, with a stack trace.
 */
const reportWriteErrorsToWrites = Effect.acquireRelease(
  Effect.sync(() => {
    const ignore = () => {}
    process.stdout.on("error", ignore)
    return ignore
  }),
  (ignore) => Effect.sync(() => process.stdout.off("error", ignore))
)

/**
 * Follows the global log of the service at `flags.url` and prints each event as it commits, one line each, until
 * interrupted or until the reader of the output goes away. Fails with {@link TailFailed} when the service refuses the
 * subscription or stays unreachable past the client's reconnect deadline.
 *
 * @internal
 */
export const run = (flags: Flags): Effect.Effect<void, TailFailed> =>
  Effect.gen(function*() {
    yield* reportWriteErrorsToWrites
    const store = yield* EventStore.EventStore
    const print = flags.json ? formatJson : formatLine
    return yield* store.subscribe({
      after: flags.after,
      filter: { types: flags.types, categories: flags.categories }
    }).pipe(
      Stream.mapError((error) =>
        new TailFailed({ message: `cannot follow the log at ${flags.url}: ${reasonOf(error)}` })
      ),
      // A reader that went away ends the tail, as it ends `tail -f`.
      Stream.runForEachWhile((event) => writeLine(print(event)))
    )
  }).pipe(
    Effect.scoped,
    Effect.provide(
      ConcordClient.layerEventStore({
        // The client appends paths to the address: `http://host:8080/` would ask for `//events/subscribe`.
        baseUrl: flags.url.replace(/\/+$/, ""),
        token: Option.getOrUndefined(flags.token)
      }).pipe(
        Layer.provide(FetchHttpClient.layer)
      )
    )
  )
