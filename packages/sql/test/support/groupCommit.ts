// Appends of every kind for the group commit tests, fired together so that they share commit groups, and the audit of
// what each was answered: nothing lost, duplicated or falsely accepted (the Checker), nothing wrongly failed, and each
// append's error its own (its stream, its expected version, its ids, its invalid event, a conflict with an event that
// really is in the log and really clashes).
import { Conflict, Event, ExpectedVersion, StreamVersion } from "@concord/core"
import type { EventStore } from "@concord/core"
import { Registry } from "@concord/example-crm"
import type { Checker } from "@concord/testing"
import { Effect, Either, Fiber, Runtime } from "effect"

/**
 * What an append is meant to exercise: `note` commutes with everything committed since its stale version, `value` and
 * `email` may conflict (with each other's kind, in the same group too), `future` expects a version the stream is far
 * from, `invalid` carries data JSON cannot hold, `duplicate` reuses an id stored in another stream, `twin` is a batch
 * sent twice at once, `contested` two single-event appends to two streams with one id, `poison` an append whose second
 * row a trigger refuses (installed by the test that plans it).
 */
export type Kind = "note" | "value" | "email" | "future" | "invalid" | "duplicate" | "twin" | "contested" | "poison"

export interface Planned {
  readonly kind: Kind
  readonly streamId: string
  /** An exact expected version, or "any". */
  readonly expected: number | "any"
  readonly events: ReadonlyArray<Event.EventData & { readonly id: Event.EventId }>
}

/** An answer as a writer records it: enough to judge, and JSON. */
export type Answer =
  | { readonly _tag: "Acknowledged"; readonly result: EventStore.AppendResult }
  | { readonly _tag: "Rejected"; readonly error: Record<string, unknown> & { readonly _tag: string } }

export interface Answered {
  readonly planned: Planned
  readonly answer: Answer
}

/**
 * Starts every effect in one synchronous step and waits for all of them. An append is queued before it first waits
 * (its checks and its queueing are synchronous), and a group is formed no sooner than the next turn of the event loop:
 * appends started together land in the same group (up to a group's size), with no timing involved.
 */
export const together = <A, E, R>(effects: ReadonlyArray<Effect.Effect<A, E, R>>) =>
  Effect.flatMap(Effect.runtime<R>(), (runtime) => {
    const fibers = effects.map((effect) => Runtime.runFork(runtime)(effect))
    return Effect.forEach(fibers, Fiber.join)
  })

/** The type of the event a trigger refuses in the poison test. */
export const poisonType = "Poison"

/** A small seeded generator, so that a run can be replayed. */
export const random = (seed: number) => {
  let state = seed >>> 0
  return (below: number) => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (((t ^ (t >>> 14)) >>> 0) % below)
  }
}

/**
 * One round of appends to `streams` (at the given current versions), with ids unique to `name` and `round`.
 * `storedElsewhere` is an id stored in some stream, for a duplicate, and `poison` says whether to plan one.
 */
export const planRound = (options: {
  readonly name: string
  readonly round: number
  readonly size: number
  readonly streams: ReadonlyArray<string>
  readonly versions: ReadonlyMap<string, number>
  readonly storedElsewhere: { readonly streamId: string; readonly id: Event.EventId } | undefined
  readonly poison: boolean
  readonly next: (below: number) => number
}): ReadonlyArray<Planned> => {
  const { next, streams } = options
  let n = 0
  const id = () => Event.EventId.make(`${options.name}-${options.round}-${n++}`)
  const pick = () => streams[next(streams.length)]!
  const stale = (streamId: string) => Math.max(1, options.versions.get(streamId)! - next(4))
  const note = () => ({
    id: id(),
    type: "MeetingNoteAdded",
    data: { noteId: `n${n}`, author: options.name, text: "x" }
  })
  const planned: Array<Planned> = []
  const add = (kind: Kind, streamId: string, expected: number | "any", events: Planned["events"]) =>
    planned.push({ kind, streamId, expected, events })
  while (planned.length < options.size) {
    const roll = next(20)
    const streamId = pick()
    if (roll < 5) add("note", streamId, stale(streamId), [note()])
    else if (roll < 10) {
      const type = next(2) === 0 ? "ClientValueUpgraded" : "ClientValueDowngraded"
      add("value", streamId, stale(streamId), [{ id: id(), type, data: { value: next(1000) } }])
    } else if (roll < 14) {
      const contactId = ["alice", "bob", "carol"][next(3)]!
      const events = [note(), { id: id(), type: "ContactEmailChanged", data: { contactId, email: `${n}@acme.test` } }]
      add("email", streamId, stale(streamId), events)
    } else if (roll === 14) add("future", streamId, options.versions.get(streamId)! + 10_000, [note()])
    else if (roll === 15) {
      add("invalid", streamId, stale(streamId), [note(), { id: id(), type: "MeetingNoteAdded", data: { text: NaN } }])
    } else if (roll === 16 && options.storedElsewhere !== undefined) {
      const other = streams.find((s) => s !== options.storedElsewhere!.streamId)!
      add("duplicate", other, stale(other), [note(), { ...note(), id: options.storedElsewhere.id }])
    } else if (roll === 17) {
      const events = [note()]
      const expected = stale(streamId)
      add("twin", streamId, expected, events)
      add("twin", streamId, expected, events)
    } else if (roll === 18) {
      const shared = id()
      const other = streams.find((s) => s !== streamId)!
      add("contested", streamId, stale(streamId), [{ ...note(), id: shared }])
      add("contested", other, stale(other), [{ ...note(), id: shared }])
    } else if (options.poison) add("poison", streamId, "any", [note(), { id: id(), type: poisonType, data: {} }])
  }
  return planned
}

/** The typed error as JSON: its fields, which the audit compares (a conflict's committed events included). */
const summary = (error: EventStore.AppendError): Answer => ({
  _tag: "Rejected",
  error: JSON.parse(JSON.stringify({ ...error, _tag: error._tag, cause: undefined }))
})

/** Appends `planned` through `append` and records its answer. */
export const answer = <R>(
  append: (planned: Planned) => Effect.Effect<EventStore.AppendResult, EventStore.AppendError, R>,
  planned: Planned
): Effect.Effect<Answered, never, R> =>
  Effect.map(Effect.either(append(planned)), (either) => ({
    planned,
    answer: Either.isRight(either) ? { _tag: "Acknowledged", result: either.right } : summary(either.left)
  }))

/** The expected version of a planned append, as the store takes it. */
export const expectedOf = (planned: Planned) =>
  planned.expected === "any" ? ExpectedVersion.any : ExpectedVersion.exact(planned.expected)

/** The attempts the Checker judges: one of each pair of twins (a batch acknowledged twice is one append). */
export const checkerAttempts = (answered: ReadonlyArray<Answered>): ReadonlyArray<Checker.Attempt> => {
  const seen = new Set<string>()
  return answered.flatMap(({ answer, planned }): Array<Checker.Attempt> => {
    const key = planned.events.map((e) => e.id).join(",")
    if (planned.kind === "twin" && seen.has(key)) return []
    seen.add(key)
    return [{
      streamId: planned.streamId,
      expectedVersion: expectedOf(planned),
      events: planned.events,
      registry: Registry.registry,
      outcome: answer._tag === "Acknowledged"
        ? {
          _tag: "Acknowledged",
          result: {
            ...answer.result,
            firstVersion: StreamVersion.make(answer.result.firstVersion),
            lastVersion: StreamVersion.make(answer.result.lastVersion)
          }
        }
        : { _tag: "Rejected", error: answer.error._tag }
    }]
  })
}

/** Every error that is not its append's own, every failure that is not justified by the log, in words. */
export const audit = (
  answered: ReadonlyArray<Answered>,
  logs: ReadonlyMap<string, ReadonlyArray<Event.RecordedEvent>>
): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const byIds = new Map<string, Array<Answered>>()
  for (const entry of answered) {
    const key = entry.planned.events.map((e) => e.id).join(",")
    byIds.set(key, [...(byIds.get(key) ?? []), entry])
  }
  const sharedIds = new Map<string, Array<Answered>>()
  for (const entry of answered) {
    if (entry.planned.kind !== "contested") continue
    const id = entry.planned.events[0]!.id
    sharedIds.set(id, [...(sharedIds.get(id) ?? []), entry])
  }
  for (const entry of answered) {
    const problem = judge(entry, logs, byIds, sharedIds)
    if (problem !== undefined) {
      problems.push(
        `${entry.planned.kind} append ${entry.planned.events[0]!.id} to ${entry.planned.streamId}: ${problem}`
      )
    }
  }
  return problems
}

const judge = (
  { answer, planned }: Answered,
  logs: ReadonlyMap<string, ReadonlyArray<Event.RecordedEvent>>,
  byIds: ReadonlyMap<string, ReadonlyArray<Answered>>,
  sharedIds: ReadonlyMap<string, ReadonlyArray<Answered>>
): string | undefined => {
  const error = answer._tag === "Rejected" ? answer.error : undefined
  const tag = error?._tag ?? "Acknowledged"
  // A StoreError names its stream in its operation.
  const own = error === undefined || error.streamId === planned.streamId ||
    (tag === "StoreError" && error.operation === `append to stream ${planned.streamId}`)
  if (!own) return `answered ${JSON.stringify(error)}, not about its own stream`
  switch (planned.kind) {
    case "note":
      return tag === "Acknowledged" ? undefined : `a commuting append failed with ${tag}`
    case "twin": {
      const results = byIds.get(planned.events.map((e) => e.id).join(","))!.map((e) => JSON.stringify(e.answer))
      return tag !== "Acknowledged" || new Set(results).size !== 1 ? `the twins were answered ${results}` : undefined
    }
    case "value":
    case "email":
      return tag === "Acknowledged" ? undefined : tag === "ConcurrencyConflict"
        ? unjustifiedConflict(planned, error!, logs.get(planned.streamId) ?? [])
        : `answered ${tag}`
    case "future":
      return tag === "WrongExpectedVersion" && error!.expectedVersion === planned.expected &&
          (error!.actualVersion as number) < (planned.expected as number)
        ? undefined
        : `answered ${JSON.stringify(error ?? answer)}`
    case "invalid":
      return tag === "InvalidEventData" && error!.index === 1
        ? undefined
        : `answered ${JSON.stringify(error ?? answer)}`
    case "duplicate":
      return tag === "DuplicateEventId" && JSON.stringify(error!.eventIds) === JSON.stringify([planned.events[1]!.id])
        ? undefined
        : `answered ${JSON.stringify(error ?? answer)}`
    case "contested": {
      const pair = sharedIds.get(planned.events[0]!.id)!
      // The other was never answered (its writer was killed): this one either won or lost to it.
      if (pair.length === 1) return tag === "Acknowledged" || tag === "DuplicateEventId" ? undefined : `answered ${tag}`
      const won = pair.filter((e) => e.answer._tag === "Acknowledged").length
      const lost = pair.filter((e) =>
        e.answer._tag === "Rejected" && e.answer.error._tag === "DuplicateEventId" &&
        JSON.stringify(e.answer.error.eventIds) === JSON.stringify([planned.events[0]!.id])
      ).length
      return won === 1 && lost === 1 ? undefined : `of the two appends sharing an id, ${won} won and ${lost} lost`
    }
    case "poison":
      return tag === "StoreError" ? undefined : `answered ${tag}`
  }
}

/** A conflict must name events past the expected version that are in the log as it says, and that really clash. */
const unjustifiedConflict = (
  planned: Planned,
  error: Record<string, unknown>,
  log: ReadonlyArray<Event.RecordedEvent>
): string | undefined => {
  if (error.expectedVersion !== planned.expected) return `a conflict at expected version ${error.expectedVersion}`
  const pairs = error.conflicts as ReadonlyArray<Conflict.ConflictingPair>
  const committed = error.committedEvents as ReadonlyArray<{ id: string; version: number; type: string; data: unknown }>
  for (const pair of pairs) {
    const stored = log[pair.committedVersion - 1]
    if (
      stored === undefined || stored.type !== pair.committedType ||
      pair.committedVersion <= (planned.expected as number)
    ) {
      return `a conflict with ${pair.committedType}@${pair.committedVersion}, which the log does not hold there`
    }
    if (!Conflict.hasConflict(Registry.registry, [stored], [planned.events[pair.proposedIndex]!])) {
      return `a conflict with ${pair.committedType}@${pair.committedVersion}, which does not clash`
    }
  }
  for (const event of committed) {
    const stored = log[event.version - 1]
    if (stored?.id !== event.id || JSON.stringify(stored.data) !== JSON.stringify(event.data)) {
      return `a committed event ${event.id}@${event.version} unlike the log's`
    }
  }
  return pairs.length > 0 ? undefined : "a conflict naming no pair"
}
