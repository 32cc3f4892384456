// A page of events as the service sends it: `ReadResponse`'s JSON, written as it is encoded, a few events at a time.
import { type Event, Position } from "@concord/core"
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { ServerResponse } from "node:http"

/**
 * Remembers the last time written: the events of one append share theirs, and writing a date costs more than the
 * rest of an event's fields.
 */
const isoTimes = () => {
  let lastMillis = Number.NaN
  let lastText = ""
  return (date: Date): string => {
    const millis = date.getTime()
    if (millis !== lastMillis) {
      // Throws on an invalid date, as the Schema's encoding fails on one: no event is sent with a made-up time.
      lastText = date.toISOString()
      lastMillis = millis
    }
    return lastText
  }
}

/**
 * Events as `Schema.encodeSync(Event.RecordedEvent)` encodes them: the fields in the Schema's order, `recordedAt` as
 * an ISO string, `position` as its string form. The data and metadata are JSON already (the stores keep nothing
 * else), so they are passed on as they are, without a Schema pass over each value.
 *
 * @internal
 */
export const encoder = () => {
  const isoTime = isoTimes()
  return (event: Event.RecordedEvent): Schema.Schema.Encoded<typeof Event.RecordedEvent> => ({
    id: event.id,
    streamId: event.streamId,
    version: event.version,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    recordedAt: isoTime(event.recordedAt),
    position: Position.toString(event.position)
  })
}

/**
 * How many events go into one piece of a response's body: enough that writing a piece costs more than the yield
 * after it, few enough that other requests (a health check, another reader) wait at most for one piece.
 *
 * @internal
 */
export const eventsPerPiece = 100

/**
 * Lets the event loop take its I/O before the next piece: a macrotask, so that requests that arrived meanwhile are
 * read and answered between the pieces of a long response, which a microtask (`Effect.yieldNow`) does not allow.
 */
const letOthersRun: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

const bytes = (text: string): Uint8Array => Buffer.from(text, "utf8")

/**
 * The body of a page: `{"events":[`, the events a piece at a time, then `]}`. The first events are given (read
 * before the answer began, so that a failing store still gets its error status); `rest` is read as the body is
 * written. When `rest` fails, the body fails after `onFailure` ran, without its closing brackets: what was sent is
 * never a whole JSON document.
 *
 * @internal
 */
export const body = <E>(
  first: ReadonlyArray<Event.RecordedEvent>,
  rest: Stream.Stream<Event.RecordedEvent, E>,
  onFailure: (error: E) => Effect.Effect<void>
): Stream.Stream<Uint8Array, E> =>
  Stream.suspend(() => {
    let written = 0
    const encode = encoder()
    // One `JSON.stringify` for the piece's events, its brackets left out: the JSON `Schema.encode` and the
    // endpoint's `JSON.stringify` would write for them, a comma ahead of all but the first piece.
    const encodePiece = (events: Chunk.Chunk<Event.RecordedEvent>): Uint8Array => {
      const encoded: Array<Schema.Schema.Encoded<typeof Event.RecordedEvent>> = []
      for (const event of events) encoded.push(encode(event))
      const text = JSON.stringify(encoded)
      const piece = (written === 0 ? "" : ",") + text.slice(1, -1)
      written += events.length
      return bytes(piece)
    }
    const events = Stream.concat(Stream.fromIterable(first), rest).pipe(
      Stream.rechunk(eventsPerPiece),
      Stream.mapChunksEffect((chunk) => {
        if (Chunk.isEmpty(chunk)) return Effect.succeed(Chunk.empty<Uint8Array>())
        // The first piece goes out at once; each later one after the event loop's other work.
        const pieceOf = () => Chunk.of(encodePiece(chunk))
        return written === 0 ? Effect.sync(pieceOf) : Effect.andThen(letOthersRun, pieceOf)
      }),
      Stream.tapError(onFailure)
    )
    return Stream.concat(
      Stream.make(bytes(`{"events":[`)),
      Stream.concat(events, Stream.make(bytes("]}")))
    )
  })

/** The Node response under a request, when the service runs on Node's server. @internal */
export const nodeResponse = (request: HttpServerRequest.HttpServerRequest): ServerResponse | undefined => {
  const response: unknown = NodeHttpServerRequest.toServerResponse(request)
  return response !== null && typeof response === "object" && "destroy" in response
    ? response as ServerResponse
    : undefined
}

/**
 * How many events a read takes from the store before its answer begins: the SQL stores' own page, so that a read of
 * up to this many is one statement, and a store that fails it still gets its error status.
 *
 * @internal
 */
export const firstPageSize = 1_000

/**
 * A read answered as it is read: its first page (at most {@link firstPageSize} events) read by the effect, so that
 * a store that fails it fails the effect; then the `200`, whose body goes on with `after(last, left)` (the events
 * after the last one read, at most `left` of them) when the first page was full. A store that fails after the answer
 * began is logged, and the connection is cut under the response: the client sees a broken response, never a
 * complete-looking one.
 *
 * @internal
 */
export const pagedRead = <E, E2>(options: {
  readonly limit: number
  readonly read: (limit: number) => Stream.Stream<Event.RecordedEvent, E>
  readonly after: (last: Event.RecordedEvent, left: number) => Stream.Stream<Event.RecordedEvent, E2>
  /** What the read was, for the log. */
  readonly operation: string
}): Effect.Effect<HttpServerResponse.HttpServerResponse, E, HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const firstLimit = Math.min(options.limit, firstPageSize)
    const first = Chunk.toReadonlyArray(yield* Stream.runCollect(options.read(firstLimit)))
    const last = first[first.length - 1]
    const left = options.limit - first.length
    const rest = first.length < firstLimit || last === undefined || left <= 0
      ? Stream.empty
      : Stream.suspend(() => options.after(last, left))
    return respond(first, rest, (error) =>
      Effect.zipRight(
        Effect.logError(`store failure: ${options.operation}, after the answer began; the connection is cut`, error),
        Effect.sync(() => nodeResponse(request)?.destroy())
      ))
  })

/**
 * A `200` whose body is a page of events (see {@link body}), as `application/json`: what the endpoint's declared
 * `ReadResponse` would be, without the page held whole in memory.
 *
 * @internal
 */
export const respond = <E>(
  first: ReadonlyArray<Event.RecordedEvent>,
  rest: Stream.Stream<Event.RecordedEvent, E>,
  onFailure: (error: E) => Effect.Effect<void>
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.stream(body(first, rest, onFailure), { contentType: "application/json" })
