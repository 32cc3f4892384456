// Subscriptions through an EventStore running in the background, for tests that audit what they delivered.
import { type Event, type EventStore, Position } from "@concord/core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

export interface Follower {
  readonly delivered: Array<Event.RecordedEvent>
  /** Waits until an event at or after `position` was delivered; fails with what the subscription ended with. */
  readonly reached: (position: Position.Position, timeoutMs?: number) => Effect.Effect<void, Error>
  readonly stop: Effect.Effect<void>
  /** How the subscription ended, once it has. */
  readonly ended: Effect.Effect<Option.Option<unknown>>
}

export const follow = (store: EventStore.Service, options?: EventStore.SubscribeOptions) =>
  Effect.gen(function*() {
    const delivered: Array<Event.RecordedEvent> = []
    const fiber = yield* Effect.forkDaemon(
      Stream.runForEach(store.subscribe(options), (event) => Effect.sync(() => delivered.push(event)))
    )
    const ended = Effect.map(Fiber.poll(fiber), Option.map((exit) => exit as unknown))
    const reached = (position: Position.Position, timeoutMs = 30_000) =>
      Effect.gen(function*() {
        const start = Date.now()
        for (;;) {
          const last = delivered.at(-1)
          if (last !== undefined && !Position.isAfter(position, last.position)) return
          const exit = yield* Fiber.poll(fiber)
          if (Option.isSome(exit)) return yield* Effect.fail(new Error(`the subscription ended: ${String(exit.value)}`))
          if (Date.now() - start > timeoutMs) {
            return yield* Effect.fail(
              new Error(`not at ${Position.toString(position)} within ${timeoutMs} ms (${delivered.length} delivered)`)
            )
          }
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
        }
      })
    return { delivered, reached, stop: Fiber.interrupt(fiber).pipe(Effect.asVoid), ended } satisfies Follower
  })
