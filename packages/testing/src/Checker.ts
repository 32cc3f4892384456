/**
 * An independent checker of a store's log after a concurrent run: it knows only what writers attempted, what the
 * store answered, and what the store holds afterwards, and reports every way these disagree. On the read side it
 * judges what each subscriber was delivered against the final global log, and the global log against the streams.
 *
 * @since 0.1.0
 */
import {
  Conflict,
  type ConflictRegistry,
  type Event,
  EventStore,
  type ExpectedVersion,
  type Position,
  StreamId
} from "@concord/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import type * as Equivalence from "effect/Equivalence"
import * as Stream from "effect/Stream"
import * as readAudit from "./internal/readAudit.js"

/**
 * One append a writer attempted, with ids on all its events, and what came of it: acknowledged with a result,
 * rejected with an error, or unknown (the writer died or lost its connection before the answer).
 *
 * @since 0.1.0
 * @category models
 */
export interface Attempt {
  readonly streamId: string
  readonly expectedVersion: ExpectedVersion.ExpectedVersion
  readonly events: ReadonlyArray<Event.EventData & { readonly id: Event.EventId }>
  /** The registry the append ran under. */
  readonly registry: ConflictRegistry.ConflictRegistry<any, any>
  readonly outcome:
    | { readonly _tag: "Acknowledged"; readonly result: EventStore.AppendResult }
    | { readonly _tag: "Rejected"; readonly error: string }
    | { readonly _tag: "Unknown" }
}

/**
 * Optionally, a fold over the domain: with it the checker also asserts that folding each stream's log gives the
 * same state as folding the events writers were told were stored, as they sent them, at the versions they were
 * acknowledged at: what was acknowledged is what is stored, payloads included.
 *
 * @since 0.1.0
 * @category models
 */
export interface Fold<State> {
  readonly initialState: State
  readonly evolve: (state: State, event: Event.EncodedEvent) => State
  readonly equivalence?: Equivalence.Equivalence<State> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<State> {
  /** Every stream's events as the store returns them after the run. */
  readonly logs: ReadonlyMap<string, ReadonlyArray<Event.RecordedEvent>>
  /** Every attempt, in any order. */
  readonly attempts: ReadonlyArray<Attempt>
  readonly fold?: Fold<State> | undefined
}

/**
 * Every problem found, in words; empty when the log is sound: versions 1..n with no gap in every stream, every
 * acknowledged event present exactly once where its result says, no event of a rejected append present, every
 * append of unknown outcome present whole or not at all, no event in the log that nobody appended, and no accepted
 * stale append that went past an event its registry says it conflicts with.
 *
 * @since 0.1.0
 * @category checking
 */
export const check = <State>(options: Options<State>): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const located = new Map<string, { readonly streamId: string; readonly event: Event.RecordedEvent }>()
  for (const [streamId, log] of options.logs) {
    log.forEach((event, i) => {
      if (event.version !== i + 1) problems.push(`${streamId}: position ${i + 1} holds version ${event.version}`)
      if (event.streamId !== streamId) problems.push(`${streamId}: version ${event.version} says ${event.streamId}`)
      if (located.has(event.id)) problems.push(`event ${event.id} is stored twice`)
      located.set(event.id, { streamId, event })
    })
  }
  const attempted = new Set<string>()
  const acknowledgedIds = new Set<string>()
  for (const attempt of options.attempts) {
    for (const event of attempt.events) attempted.add(event.id)
    if (attempt.outcome._tag === "Acknowledged") { for (const event of attempt.events) acknowledgedIds.add(event.id) }
  }
  for (const id of located.keys()) {
    if (!attempted.has(id)) problems.push(`event ${id} is in the log but nobody appended it`)
  }
  for (const attempt of options.attempts) {
    const described = attempt.events.slice(0, 3).map((e) => `${e.type}#${e.id}`)
    if (attempt.events.length > 3) described.push(`${attempt.events.length - 3} more`)
    const label = `append of [${described.join(", ")}] to ${attempt.streamId}`
    const found = attempt.events.map((event) => located.get(event.id))
    switch (attempt.outcome._tag) {
      case "Acknowledged": {
        const { result } = attempt.outcome
        attempt.events.forEach((event, i) => {
          const at = found[i]
          if (at === undefined) return problems.push(`${label} was acknowledged but ${event.id} is lost`)
          if (at.streamId !== attempt.streamId || at.event.version !== result.firstVersion + i) {
            problems.push(`${label}: ${event.id} is at ${at.streamId}@${at.event.version}, not where acknowledged`)
          }
          if (at.event.type !== event.type) problems.push(`${label}: ${event.id} is stored as ${at.event.type}`)
        })
        if (attempt.events.length > 0 && result.lastVersion !== result.firstVersion + attempt.events.length - 1) {
          problems.push(`${label}: result ${result.firstVersion}..${result.lastVersion} does not span the batch`)
        }
        if (attempt.expectedVersion._tag === "Exact" && attempt.events.length > 0) {
          const expected = attempt.expectedVersion.version
          if (expected > result.firstVersion - 1) {
            problems.push(`${label} expected ${expected} yet was appended at ${result.firstVersion}`)
          }
          const passed = (options.logs.get(attempt.streamId) ?? []).slice(expected, result.firstVersion - 1)
          if (passed.length !== result.rebasedOver) {
            problems.push(`${label} reports rebasedOver ${result.rebasedOver} but went past ${passed.length}`)
          }
          const clashes = Conflict.detect(attempt.registry, passed, attempt.events)
          if (clashes.length > 0) {
            problems.push(
              `${label} was falsely accepted past ${
                clashes.map((c) => `${c.committedType}@${c.committedVersion}`).join(", ")
              }`
            )
          }
        }
        break
      }
      case "Rejected": {
        const { error } = attempt.outcome
        attempt.events.forEach((event, i) => {
          if (found[i] !== undefined && !acknowledgedIds.has(event.id)) {
            problems.push(`${label} was rejected (${error}) but ${event.id} is stored`)
          }
        })
        break
      }
      case "Unknown": {
        const present = found.filter((at) => at !== undefined)
        if (present.length > 0 && present.length < attempt.events.length) {
          problems.push(`${label} is partly stored: ${present.length} of ${attempt.events.length} events`)
        }
        const versions = present.map((at) => at!.event.version)
        if (versions.some((version, i) => i > 0 && version !== versions[i - 1]! + 1)) {
          problems.push(`${label} is stored at non-consecutive versions ${versions.join(", ")}`)
        }
      }
    }
  }
  if (options.fold !== undefined) problems.push(...checkFold(options.fold, options.logs, options.attempts))
  return problems
}

const checkFold = <State>(
  fold: Fold<State>,
  logs: ReadonlyMap<string, ReadonlyArray<Event.RecordedEvent>>,
  attempts: ReadonlyArray<Attempt>
): ReadonlyArray<string> => {
  const equivalent = fold.equivalence ?? Equal.equals
  const problems: Array<string> = []
  for (const [streamId, log] of logs) {
    const fromLog = log.reduce(fold.evolve, fold.initialState)
    const acknowledged = attempts.flatMap((a) =>
      a.streamId === streamId && a.outcome._tag === "Acknowledged" ? [[a.outcome.result.firstVersion, a] as const] : []
    )
    // Acknowledgements from many fibers or processes arrive in any order; the versions they carry are the order.
    const fromAcknowledgements = acknowledged.sort(([a], [b]) => a - b)
      .flatMap(([, a]) => a.events)
      .reduce(fold.evolve, fold.initialState)
    if (!equivalent(fromLog, fromAcknowledgements)) {
      problems.push(`${streamId}: folding the log and folding the acknowledged events give different states`)
    }
  }
  return problems
}

/**
 * Throws an error listing every problem {@link check} finds.
 *
 * @since 0.1.0
 * @category checking
 */
export const assertSound = <State>(options: Options<State>): void => {
  const problems = check(options)
  if (problems.length > 0) {
    throw new Error(`the store's log is not sound (${problems.length} problems):\n  ${problems.join("\n  ")}`)
  }
}

/**
 * Reads every named stream from the `EventStore` in context: the `logs` that {@link check} takes.
 *
 * @since 0.1.0
 * @category checking
 */
export const readLogs = (
  streamIds: Iterable<string>
): Effect.Effect<
  ReadonlyMap<string, ReadonlyArray<Event.RecordedEvent>>,
  EventStore.StoreError | EventStore.InvalidArgument,
  EventStore.EventStore
> =>
  Effect.flatMap(EventStore.EventStore, (store) =>
    Effect.map(
      Effect.forEach(streamIds, (id) =>
        Effect.map(
          Stream.runCollect(store.read(StreamId.make(id))),
          (log) => [id, Chunk.toReadonlyArray(log)] as const
        )),
      (entries) => new Map(entries)
    ))

// -----------------------------------------------------------------------------
// the read side
// -----------------------------------------------------------------------------

/**
 * What one subscriber (or `readAll`) delivered, and what to judge it against.
 *
 * @since 0.2.0
 * @category models
 */
export interface SubscriptionAudit {
  /** The events delivered, in the order they came: a subscriber resumed after a position, all its runs in turn. */
  readonly delivered: ReadonlyArray<Event.RecordedEvent>
  /** The store's global log after the run, as `readAll` returns it: all of it, or at least every matching event. */
  readonly log: ReadonlyArray<Event.RecordedEvent>
  /** The subscriber's filter (none: every event). */
  readonly filter?: EventStore.Filter | undefined
  /** Where the subscriber started: only events after it are owed (default: the start of the log). */
  readonly after?: Position.Position | undefined
  /** How far it got: every matching event up to here is owed (default: the log's last event, caught up). */
  readonly through?: Position.Position | undefined
}

/**
 * Every way a subscriber broke the read side's law, in words; empty when it held. Each delivered event matches
 * the filter, is in the log as delivered (stream, version, type, position), comes after the start, exactly once;
 * positions strictly increase and each stream's versions increase; and every matching event of the log after the
 * start and up to `through` was delivered (one below a delivered position was skipped, the worst kind).
 *
 * @since 0.2.0
 * @category checking
 */
export const auditSubscription: (audit: SubscriptionAudit) => ReadonlyArray<string> = readAudit.auditSubscription

/**
 * Throws an error listing what {@link auditSubscription} finds (the first twenty in full).
 *
 * @since 0.2.0
 * @category checking
 */
export const assertSubscription = (audit: SubscriptionAudit, label = "the subscriber"): void => {
  const problems = readAudit.auditSubscription(audit)
  if (problems.length > 0) throw new Error(readAudit.report(`${label} broke the read side's law`, problems))
}

/**
 * A store's global log and the reads of some of its streams, after a run.
 *
 * @since 0.2.0
 * @category models
 */
export interface LogAudit {
  /** The global log as `readAll` returns it (without a filter, or one every stream of `streams` matches). */
  readonly log: ReadonlyArray<Event.RecordedEvent>
  /** Streams as `read` returns them: the `logs` that {@link readLogs} reads. */
  readonly streams: ReadonlyMap<string, ReadonlyArray<Event.RecordedEvent>>
}

/**
 * Every way the global log disagrees with itself or with the streams, in words; empty when it is sound: positions
 * strictly increase and no event appears twice; each of the streams' events is in the log at the position its
 * stream's read gives it, and their versions come 1, 2, 3… in log order; the log holds nothing of them their reads
 * do not.
 *
 * @since 0.2.0
 * @category checking
 */
export const auditLog: (audit: LogAudit) => ReadonlyArray<string> = readAudit.auditLog

/**
 * Throws an error listing what {@link auditLog} finds (the first twenty in full).
 *
 * @since 0.2.0
 * @category checking
 */
export const assertLog = (audit: LogAudit): void => {
  const problems = readAudit.auditLog(audit)
  if (problems.length > 0) throw new Error(readAudit.report("the global log is not sound", problems))
}

/**
 * Reads the whole global log (or what matches `filter`) from the `EventStore` in context: the `log` that
 * {@link auditSubscription} and {@link auditLog} take.
 *
 * @since 0.2.0
 * @category checking
 */
export const readGlobalLog = (
  filter?: EventStore.Filter
): Effect.Effect<
  ReadonlyArray<Event.RecordedEvent>,
  EventStore.StoreError | EventStore.InvalidArgument,
  EventStore.EventStore
> =>
  Effect.flatMap(
    EventStore.EventStore,
    (store) => Effect.map(Stream.runCollect(store.readAll({ filter })), Chunk.toReadonlyArray)
  )
