// The read side's race: many writers over several streams while subscribers run — one from the start, one joining
// midway, one interrupted and resumed from its last position, one filtering by type and category — and the Checker
// judges each against the final global log: every matching event once, in position order, none skipped.
import { EventStore, ExpectedVersion, Position } from "@concord/core"
import { expect } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Checker from "../../Checker.js"
import { attempt, event, logsOf, type StoreTests } from "./fixtures.js"
import { follow, type Follower, freshName, globalLog, live, streamOf } from "./following.js"

const writers = 8
const appendsPerWriter = 12

export const readRace = (it: StoreTests): void => {
  it.effect(
    "writers race while subscribers run: each subscriber gets every matching event once, in order, none skipped",
    () =>
      live(Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const [category, otherCategory] = [freshName("race"), freshName("raceother")]
        const rare = freshName("Rare")
        const streams = [1, 2, 3, 4].map((n) => streamOf(category, n))
        const other = streamOf(otherCategory, 1)
        const filter = { categories: [category] }
        const typed = { types: [rare], categories: [category, otherCategory] }

        const fromStart = yield* follow(store, "the subscriber from the start", { filter })
        const filtered = yield* follow(store, "the subscriber by type and category", { filter: typed })
        const resumed = yield* follow(store, "the subscriber to be interrupted", { filter })
        // Halfway the writers wait until the midway subscribers are on their way, so that they join a race still on.
        let appended = 0
        const halfway = yield* Deferred.make<void>()
        const goOn = yield* Deferred.make<void>()
        const writer = (w: number) =>
          Effect.forEach(Array.from({ length: appendsPerWriter }, (_, i) => i), (i) =>
            Effect.gen(function*() {
              const pick = yield* Random.nextIntBetween(0, streams.length + 1)
              const size = yield* Random.nextIntBetween(1, 4)
              const events = Array.from({ length: size }, (_, e) => event((w + i + e) % 5 === 0 ? rare : "Noted"))
              yield* Effect.yieldNow() // writers and subscribers take turns even on a store that never waits
              const outcome = yield* attempt(
                store,
                pick < streams.length ? streams[pick]! : other,
                ExpectedVersion.any,
                events
              )
              if (++appended >= Math.floor(writers * appendsPerWriter / 2)) {
                yield* Deferred.succeed(halfway, undefined)
                yield* Deferred.await(goOn)
              }
              return outcome
            }))
        const writing = yield* Effect.fork(
          Effect.all(Array.from({ length: writers }, (_, w) => writer(w)), { concurrency: "unbounded" })
        )

        // Midway: one subscriber joins (catching up while the writers go on), one is interrupted and resumed after
        // the last position it was delivered, through its string form, as a checkpoint keeps it.
        yield* Deferred.await(halfway)
        const midway = yield* follow(store, "the subscriber joining midway", { filter })
        yield* resumed.awaitCount(1)
        yield* resumed.stop
        const firstRun = [...resumed.delivered]
        const checkpoint = Position.toString(firstRun[firstRun.length - 1]!.position)
        const secondRun = yield* follow(store, "the resumed subscriber", {
          after: Position.fromString(checkpoint)!,
          filter
        })
        yield* Deferred.succeed(goOn, undefined)

        const attempts = (yield* writing.await.pipe(Effect.flatten)).flat()
        const log = yield* globalLog(store)
        Checker.assertLog({ log, streams: yield* logsOf(store, [...streams, other]) })
        const ours = log.filter(EventStore.matches(filter))
        const acknowledged = attempts.filter((a) => a.outcome._tag === "Acknowledged")
        expect(acknowledged.length).toBe(attempts.length)
        expect(ours.length).toBe(acknowledged.filter((a) => a.streamId !== other).flatMap((a) => a.events).length)

        // Each waits until it reached the last event it should get (the resumed one may have had all in its first run).
        const judge = (follower: Follower, followerFilter: EventStore.Filter) => {
          const matching = log.filter(EventStore.matches(followerFilter))
          const last = matching[matching.length - 1]?.position
          return follower === secondRun && (last === undefined || !Position.isAfter(last, firstRun.at(-1)!.position)) ||
              last === undefined
            ? Effect.void
            : follower.awaitPosition(last)
        }
        const followers = [
          [fromStart, filter],
          [midway, filter],
          [secondRun, filter],
          [filtered, typed]
        ] as const
        yield* Effect.forEach(followers, ([follower, followerFilter]) => judge(follower, followerFilter))
        yield* Effect.sleep("50 millis") // room for a stray repeat to show
        yield* Effect.forEach(followers, ([follower]) => follower.stop)
        Checker.assertSubscription({ delivered: fromStart.delivered, log, filter }, fromStart.label)
        Checker.assertSubscription({ delivered: midway.delivered, log, filter }, midway.label)
        Checker.assertSubscription({ delivered: filtered.delivered, log, filter: typed }, filtered.label)
        Checker.assertSubscription(
          { delivered: [...firstRun, ...secondRun.delivered], log, filter },
          "the subscriber interrupted and resumed"
        )
        expect(filtered.delivered.length).toBeGreaterThan(0)
        expect(firstRun.length).toBeGreaterThan(0)
      })),
    { timeout: 120_000 }
  )
}
