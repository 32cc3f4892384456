// A page of events as the service sends it: `ReadResponse`'s JSON, written as it is encoded, a few events at a time.
import { type Event, Position } from "@concord/core"
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
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
export const eventsPerPiece = 200

/**
 * The pieces of a page's events as JSON, the events given a store page at a time: each piece is
 * {@link eventsPerPiece} events, from one `JSON.stringify` of them without its brackets, with a comma ahead of every
 * piece but the page's first. Between `{"events":[` and `]}` they are the JSON `JSON.stringify` writes for the
 * `ReadResponse` its Schema encodes.
 *
 * @internal
 */
export const pageEncoder = () => {
  const encode = encoder()
  let written = 0
  return (events: ReadonlyArray<Event.RecordedEvent>): Array<string> => {
    const pieces: Array<string> = []
    for (let start = 0; start < events.length; start += eventsPerPiece) {
      const encoded: Array<Schema.Schema.Encoded<typeof Event.RecordedEvent>> = []
      for (let i = start; i < Math.min(start + eventsPerPiece, events.length); i++) encoded.push(encode(events[i]!))
      const text = JSON.stringify(encoded)
      pieces.push((written === 0 ? "" : ",") + text.slice(1, -1))
      written += encoded.length
    }
    return pieces
  }
}

/**
 * Lets the event loop take its I/O before the next piece: a macrotask, so that requests that arrived meanwhile are
 * read and answered between the pieces of a long response, which a microtask (`Effect.yieldNow`) does not allow.
 */
const letOthersRun: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

const bytes = (text: string): Uint8Array => Buffer.from(text, "utf8")

/** The JSON around a page's events. @internal */
export const opening = `{"events":[`

/** @internal */
export const closing = "]}"

/**
 * The body of a page written a piece at a time: the pieces already encoded (the page read before the answer began),
 * then those of `rest` (each store page encoded as it arrives, so that what waits to be written is bytes, not
 * events). The first piece goes out at once, every later one after the event loop's other work. When `rest` fails
 * in any way (a store error, or a defect such as an event whose date cannot be written), the body fails after
 * `onFailure` ran, without its closing: what was sent is never a whole JSON document.
 *
 * @internal
 */
export const body = <E>(
  first: ReadonlyArray<Uint8Array>,
  rest: Stream.Stream<Uint8Array, E>,
  onFailure: (cause: Cause.Cause<E>) => Effect.Effect<void>
): Stream.Stream<Uint8Array, E> =>
  Stream.suspend(() => {
    let sent = 0
    return Stream.fromIterable(first).pipe(
      Stream.concat(Stream.tapErrorCause(rest, onFailure)),
      Stream.mapEffect((piece) => sent++ === 0 ? Effect.succeed(piece) : Effect.as(letOthersRun, piece))
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
 * How many events a read asks of the store at a time: the SQL stores' own page, so that a read of up to this many is
 * one statement. Smaller pages would hold fewer events per waiting reader, but each call of the store costs more than
 * the garbage collector saves (measured: ten pages of 100 took half again the CPU of one of 1,000).
 *
 * @internal
 */
export const storePage = 1_000

/**
 * A page of a read, run to its end with each chunk encoded as the store gives it, inside the store's stream: the
 * events are garbage by the time the run ends, and what is kept is text (collecting the events and encoding them after
 * cost more, the collector copying them while the stream wound down). Then where the read goes on: after the last
 * event, when the page came full (`asked` events) and the read wants more than it gave (`left`).
 */
const encodedPage = <E>(
  events: Stream.Stream<Event.RecordedEvent, E>,
  encode: (events: ReadonlyArray<Event.RecordedEvent>) => Array<string>,
  asked: number,
  left: number
) =>
  Effect.suspend(() => {
    let count = 0
    let last: Event.RecordedEvent | undefined
    const pieces = Stream.mapChunks(events, (chunk) => {
      const page = Chunk.toReadonlyArray(chunk)
      count += page.length
      last = page[page.length - 1] ?? last
      return Chunk.unsafeFromArray(encode(page))
    })
    return Effect.map(Stream.runCollect(pieces), (texts) => ({
      texts: Chunk.toArray(texts),
      next: count === asked && last !== undefined && left - count > 0
        ? Option.some({ last, left: left - count })
        : Option.none()
    }))
  })

/**
 * A read answered as it is read, a store page ({@link storePage} events) at a time. Its first page is read by the
 * effect, within the request's deadline, so that a store that fails it fails the effect (an error status, before
 * anything was sent); then the `200`, whose body goes on with `after(last, limit)` (the events after the last one
 * read, each statement within the store's own timeout) while the pages come full and the read's limit is not reached.
 * Whatever fails after the answer began (the store, or the encoding of an event: a defect the platform would answer
 * by ending the chunked body as if it were whole) is logged, and the connection is cut under the response: the client
 * sees a broken response, never a complete-looking one.
 *
 * @internal
 */
export const pagedRead = <E, E2>(options: {
  readonly limit: number
  readonly read: (limit: number) => Stream.Stream<Event.RecordedEvent, E>
  readonly after: (last: Event.RecordedEvent, limit: number) => Stream.Stream<Event.RecordedEvent, E2>
  /** What the read was, for the log. */
  readonly operation: string
}): Effect.Effect<HttpServerResponse.HttpServerResponse, E, HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const encode = pageEncoder()
    const firstLimit = Math.min(options.limit, storePage)
    const { next: more, texts } = yield* encodedPage(options.read(firstLimit), encode, firstLimit, options.limit)
    // The opening goes with the first piece and, when this page is the whole answer, the closing with the last: as
    // few writes as pieces.
    texts[0] = opening + (texts[0] ?? "")
    if (Option.isNone(more)) texts[texts.length - 1] += closing
    const firstPieces = texts.map(bytes)
    if (Option.isNone(more) && firstPieces.length === 1) {
      return HttpServerResponse.uint8Array(firstPieces[0]!, { contentType: "application/json" })
    }
    const rest = Option.match(more, {
      onNone: () => Stream.empty,
      onSome: (start) =>
        Stream.paginateChunkEffect(start, ({ last, left }) => {
          const asked = Math.min(left, storePage)
          return Effect.map(
            encodedPage(options.after(last, asked), encode, asked, left),
            (page) => [Chunk.unsafeFromArray(page.texts.map(bytes)), page.next] as const
          )
        }).pipe(Stream.concat(Stream.make(bytes(closing))))
    })
    return HttpServerResponse.stream(
      body(firstPieces, rest, (cause) =>
        Effect.zipRight(
          // A reader that left interrupts the body: nothing failed, and its connection is gone already.
          Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError(
            `read failure: ${options.operation}, after the answer began; the connection is cut`,
            cause
          ),
          Effect.sync(() => nodeResponse(request)?.destroy())
        )),
      { contentType: "application/json" }
    )
  })
