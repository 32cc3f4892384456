// Subscribing: catching up and then live with no gap or repeat at the switch, resuming after a position, `"end"`, a
// slow subscriber, and interruption letting go at once of whatever the subscription held.
import { EventStore, ExpectedVersion, Position } from "@concord/core"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Checker from "../../Checker.js"
import { event, type StoreTests } from "./fixtures.js"
import {
  appendInTurn,
  follow,
  freshName,
  globalLog,
  ids,
  live,
  stopWithin,
  streamOf,
  takeWithin,
  waitUntil
} from "./following.js"

export const subscribing = (it: StoreTests): void => {
  it.effect("a subscriber catches up, then gets what is appended after it started, each event once and in order", () =>
    live(Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const category = freshName("live")
      const filter = { categories: [category] }
      const streams = [streamOf(category, 1), streamOf(category, 2)]
      yield* appendInTurn(store, streams, Array(5).fill("Noted"))
      const follower = yield* follow(store, "the subscriber", { filter })
      const everyone = yield* follow(store, "the subscriber to everything")
      yield* follower.awaitCount(5)
      // One at a time, each after the last was delivered (the subscriber waits live), then a burst and a batch.
      for (let i = 0; i < 3; i++) {
        yield* store.append(streams[i % 2]!, ExpectedVersion.any, [event("Noted", { live: i })])
        yield* follower.awaitCount(6 + i)
      }
      yield* appendInTurn(store, streams, Array(4).fill("Renamed"))
      yield* store.append(streams[0]!, ExpectedVersion.any, [event("Noted"), event("Noted"), event("Noted")])
      const log = yield* globalLog(store)
      const last = log[log.length - 1]!.position
      yield* follower.awaitPosition(last)
      yield* everyone.awaitPosition(last)
      yield* Effect.sleep("30 millis") // room for a stray repeat to show
      yield* follower.stop
      yield* everyone.stop
      expect(follower.delivered.length).toBe(15)
      Checker.assertSubscription({ delivered: follower.delivered, log, filter }, follower.label)
      Checker.assertSubscription({ delivered: everyone.delivered, log }, everyone.label)
    })))

  it.effect("a subscriber after a position resumes strictly after it, from the position or its string form", () =>
    live(Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const category = freshName("resume")
      const filter = { categories: [category] }
      const streams = [streamOf(category, 1), streamOf(category, 2)]
      yield* appendInTurn(store, streams, Array(6).fill("Noted"))
      const ours = yield* globalLog(store, { filter })
      const checkpoint = Position.fromString(Position.toString(ours[2]!.position))!
      const fromPosition = yield* follow(store, "the subscriber after a position", { after: ours[2]!.position, filter })
      const fromString = yield* follow(store, "the subscriber after a checkpoint", { after: checkpoint, filter })
      const fromLast = yield* follow(store, "the subscriber after the last", { after: ours[5]!.position, filter })
      yield* fromPosition.awaitCount(3)
      yield* fromString.awaitCount(3)
      yield* appendInTurn(store, streams, Array(2).fill("Noted"))
      const log = yield* globalLog(store, { filter })
      for (const follower of [fromPosition, fromString, fromLast]) {
        yield* follower.awaitPosition(log[log.length - 1]!.position)
      }
      yield* Effect.sleep("30 millis")
      for (const follower of [fromPosition, fromString, fromLast]) yield* follower.stop
      expect(ids(fromPosition.delivered)).toEqual(ids(log.slice(3)))
      expect(ids(fromString.delivered)).toEqual(ids(log.slice(3)))
      expect(ids(fromLast.delivered)).toEqual(ids(log.slice(6)))
      Checker.assertSubscription({ delivered: fromPosition.delivered, log, filter, after: checkpoint })
    })))

  it.effect("a subscriber from \"end\" gets only what is committed after it started, from that point on", () =>
    live(Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const category = freshName("end")
      const filter = { categories: [category] }
      const stream = streamOf(category, 1)
      yield* appendInTurn(store, [stream], Array(3).fill("Created"))
      const follower = yield* follow(store, "the subscriber from the end", { after: "end", filter })
      // When it read the end is its own business: probes go in until one arrives, and from there on nothing may miss.
      // They start after a pause, by which a subscriber that reads the end one event early has shown it.
      yield* Effect.sleep("200 millis")
      yield* waitUntil(
        () => follower.delivered.length > 0,
        () => "the subscriber from the end got none of the probes appended after it started",
        "30 seconds"
      ).pipe(Effect.raceFirst(Effect.forever(
        Effect.zipRight(store.append(stream, ExpectedVersion.any, [event("Noted")]), Effect.sleep("20 millis"))
      )))
      yield* appendInTurn(store, [stream], Array(3).fill("Renamed"))
      const log = yield* globalLog(store, { filter })
      yield* follower.awaitPosition(log[log.length - 1]!.position)
      yield* follower.stop
      const first = log.findIndex((e) => e.id === follower.delivered[0]!.id)
      expect(first).toBeGreaterThanOrEqual(3) // none of the events before it started
      expect(ids(follower.delivered)).toEqual(ids(log.slice(first)))
      expect(follower.delivered.slice(-3).map((e) => e.type)).toEqual(["Renamed", "Renamed", "Renamed"])
    })))

  it.effect("a slow subscriber still gets every event once, in order, however far the log ran ahead", () =>
    live(Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const category = freshName("slow")
      const filter = { categories: [category] }
      const stream = streamOf(category, 1)
      yield* store.append(stream, ExpectedVersion.any, [event("Created")])
      let pause = true
      let stalled = false
      const got = yield* Effect.fork(
        takeWithin(
          store.subscribe({ filter }).pipe(
            // It takes the first event and then stalls while the log runs 1,500 events ahead.
            Stream.tap((e) =>
              e.type === "Created"
                ? Effect.zipRight(
                  Effect.sync(() => stalled = true),
                  waitUntil(() => !pause, () => "the slow subscriber was never let go")
                )
                : Effect.void
            )
          ),
          1_501,
          "the slow subscriber"
        )
      )
      yield* waitUntil(() => stalled, () => "the slow subscriber never got its first event")
      for (let i = 0; i < 15; i++) {
        yield* store.append(stream, ExpectedVersion.any, Array.from({ length: 100 }, () => event("Noted")))
      }
      pause = false
      const events = yield* got.await.pipe(Effect.flatten)
      Checker.assertSubscription({ delivered: events, log: yield* globalLog(store, { filter }), filter })
    })))

  it.effect("interrupting a subscriber, waiting or catching up, ends it at once and releases what it held", () =>
    live(Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const category = freshName("stop")
      const filter = { categories: [category] }
      const stream = streamOf(category, 1)
      // Waiting live for events that never come.
      const waiting = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => follow(store, `waiting subscriber ${i}`, { filter })
      )
      yield* Effect.sleep("50 millis")
      yield* Effect.forEach(waiting, (follower) => follower.stop, { concurrency: "unbounded" })
      // Catching up the whole log, stopped after its first event.
      const catchingUp = yield* follow(store, "a subscriber catching up")
      yield* catchingUp.awaitCount(1)
      yield* catchingUp.stop
      // Many short subscriptions in a row, each ending when it has what it wanted: none keeps anything.
      yield* store.append(stream, ExpectedVersion.any, [event("Created")])
      for (let i = 0; i < 40; i++) yield* takeWithin(store.subscribe({ filter }), 1, `short subscription ${i}`)
      const reader = yield* Effect.fork(
        Stream.runDrain(store.subscribe({ filter, after: Position.start }))
      )
      yield* Effect.sleep("20 millis")
      yield* stopWithin(reader, "a subscriber drained without a consumer")
      // The store still serves: writes, reads, and a new subscriber gets what comes next.
      const next = yield* follow(store, "the subscriber after the others stopped", { filter, after: "end" })
      yield* waitUntil(
        () => next.delivered.length > 0,
        () => "the subscriber after the others stopped got nothing",
        "30 seconds"
      ).pipe(Effect.raceFirst(Effect.forever(
        Effect.zipRight(store.append(stream, ExpectedVersion.any, [event("Noted")]), Effect.sleep("20 millis"))
      )))
      yield* next.stop
      expect(waiting.every((follower) => follower.delivered.length === 0)).toBe(true)
      expect(yield* store.version(stream)).toBeGreaterThan(1)
    })))
}
