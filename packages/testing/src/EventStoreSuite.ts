/**
 * The conformance suite every `EventStore` Layer must pass: the append semantics, idempotency, atomic batches, bad
 * input, concurrency under many fibers and under fast-check's scheduler, and the read side (the global log, filters,
 * subscriptions, and subscribers racing writers), each run checked by the independent {@link Checker}. It registers vitest tests, so it comes from its own entry point, `@concord/testing/vitest`.
 *
 * @since 0.1.0
 */
import type { ConflictRegistry, Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { describe, layer } from "@effect/vitest"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Checker from "./Checker.js"
import { appending } from "./internal/suite/appending.js"
import { atomicBatches } from "./internal/suite/atomicBatches.js"
import { badInput } from "./internal/suite/badInput.js"
import { commandHandling } from "./internal/suite/commandHandling.js"
import { concurrency } from "./internal/suite/concurrency.js"
import { conflictEvents } from "./internal/suite/conflictEvents.js"
import * as fixtures from "./internal/suite/fixtures.js"
import { idempotency } from "./internal/suite/idempotency.js"
import { modelBased } from "./internal/suite/model.js"
import { readingAll } from "./internal/suite/readingAll.js"
import { readRace } from "./internal/suite/readRace.js"
import { subscribing } from "./internal/suite/subscribing.js"

/**
 * The suite's own domain, in encoded form: `Created` and `Deleted` conflict with everything, `Renamed` conflicts
 * with itself and `Deleted`, `Noted` only with `Deleted`, `Tagged` only with a `Tagged` of the same tag, `Viewed`
 * with nothing. Every other type is unknown to it, so it conflicts with every rule but `never`. Its rules are all
 * declarative: `ConflictRegistry.toDocument` writes it as the JSON document a store configured by file (the service)
 * reads.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const registry: ConflictRegistry.ConflictRegistry<
  Event.Tagged,
  "Created" | "Deleted" | "Renamed" | "Noted" | "Tagged" | "Viewed"
> = fixtures.registry

/**
 * The state of a stream of the suite's domain: the last name, every note and the value of every tag. Notes and tags
 * commute under the registry, so folding the log must equal folding the acknowledged events.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const fold: Checker.Fold<string> = fixtures.fold

/**
 * A stream id no other test uses, so one store serves the whole suite.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const freshStream: (label?: string) => StreamId.StreamId = fixtures.freshStream

/**
 * Runs one append and records it as a {@link Checker.Attempt}.
 *
 * @since 0.1.0
 * @category concurrency
 */
export const attempt: (
  store: EventStore.Service,
  streamId: StreamId.StreamId,
  expectedVersion: ExpectedVersion.ExpectedVersion,
  events: ReadonlyArray<Event.EventData>,
  appendRegistry?: ConflictRegistry.ConflictRegistry<any, any>
) => Effect.Effect<Checker.Attempt> = fixtures.attempt

/**
 * What the suite needs to know about the store under test.
 *
 * @since 0.2.0
 * @category suite
 */
export interface Options {
  /**
   * How the store decides whether a stale append conflicts. `"per-append"` (the default): by the registry the append
   * brings in `options.registry`, as every store of `@concord/core` and `@concord/sql` does. `"fixed"`: by a
   * registry of its own, whatever the append brings, as `ConcordClient.layerEventStore` does (the service applies
   * its configured registry); the store must then be configured with {@link registry} for every stream, and the
   * suite's appends, which all bring {@link registry} or none, test the conflict semantics through it. Two tests
   * bring a registry of their own and are not registered for such a store:
   *
   * - "a stale append's registry is shown only the committed events after its expected version": its registry has a
   *   predicate that records the events it is shown, which no configured registry can carry;
   * - "options.registry overrides the store's registry for one append": it appends under three registries in turn.
   *
   * Command handling appends under its domain's registry, whose rules are {@link registry}'s for the domain's
   * types, so it runs on such a store too.
   */
  readonly registry?: "per-append" | "fixed" | undefined
}

/**
 * Registers the conformance suite for one store Layer. Call it once per store, at the top level of a test file.
 * Every test gets the store from the one Layer, built once for the whole suite, so a Layer that needs a database
 * (a connection, a schema, a throwaway server) can be built from whatever the test file has at hand. A store that
 * applies a registry of its own rather than the one an append brings is run with `{ registry: "fixed" }` (see
 * {@link Options}).
 *
 * @example
 * ```ts
 * import { EventStore } from "@concord/core"
 * import { EventStoreSuite } from "@concord/testing/vitest"
 *
 * EventStoreSuite.run("layerMemory", EventStore.layerMemory())
 * ```
 *
 * @since 0.1.0
 * @category suite
 */
export const run = <E>(
  name: string,
  storeLayer: Layer.Layer<EventStore.EventStore, E>,
  options: Options = {}
): void => {
  describe(`EventStoreSuite: ${name}`, () => {
    layer(storeLayer, { timeout: "120 seconds" })((it) => {
      // One topic per file under internal/suite; a new topic is one more file and one more line here.
      describe("appending", () => appending(it, options.registry !== "fixed"))
      describe("conflict events", () => conflictEvents(it))
      describe("atomic batches", () => atomicBatches(it))
      describe("bad input", () => badInput(it))
      describe("idempotency", () => idempotency(it))
      describe("concurrency", () => {
        concurrency(it)
        modelBased(it)
      })
      describe("command handling", () => commandHandling(it))
      describe("the read side", () => [readingAll, subscribing, readRace].forEach((topic) => topic(it)))
    })
  })
}
