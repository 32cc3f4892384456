// The Server-Sent Events the subscription endpoint sends: one message per event, comments to keep it open.
import { Event, type EventStore, Position } from "@concord/core"
import * as Chunk from "effect/Chunk"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

const encodeEvent = Schema.encodeSync(Event.RecordedEvent)

/**
 * One event as a message: its position as the `id` and its JSON, as `GET /events` returns it, as the `data`. JSON
 * text holds no line break (those in strings are escaped), so the data is one line.
 *
 * @internal
 */
export const message = (event: Event.RecordedEvent): string =>
  `id: ${Position.toString(event.position)}\ndata: ${JSON.stringify(encodeEvent(event))}\n\n`

/** A comment line: ignored by readers, it keeps proxies from closing an idle connection. @internal */
export const keepAlive = ":\n\n"

/** Sent at once, so that the reader has the response's headers without waiting for the first event. @internal */
export const opening = ": subscribed\n\n"

/**
 * The body of a subscription: the opening comment, then the events as they come (a page of them in one write) and a
 * comment every `keepAliveInterval`, until `ending` completes. Events are read from the store as the connection
 * takes them, so a reader that falls behind holds at most a page in memory, never a backlog. A store failure ends
 * the response, logged: the reader reconnects after the last event it got.
 *
 * @internal
 */
export const body = (
  events: Stream.Stream<Event.RecordedEvent, EventStore.StoreError | EventStore.InvalidArgument>,
  options: { readonly keepAliveInterval: Duration.Duration; readonly ending: Effect.Effect<void> }
): Stream.Stream<Uint8Array> =>
  Stream.make(opening).pipe(
    Stream.concat(
      Stream.merge(
        events.pipe(
          Stream.mapChunks((chunk) =>
            Chunk.isEmpty(chunk) ? Chunk.empty<string>() : Chunk.of(Chunk.join(Chunk.map(chunk, message), ""))
          ),
          Stream.catchAll((error) =>
            Stream.drain(Stream.fromEffect(Effect.logError("subscription ended by a store failure", error)))
          )
        ),
        Stream.as(Stream.fromSchedule(Schedule.spaced(options.keepAliveInterval)), keepAlive),
        // The comments stop with the events.
        { haltStrategy: "left" }
      )
    ),
    Stream.interruptWhen(options.ending),
    Stream.encodeText
  )
