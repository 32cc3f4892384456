// Group commit under fire: concurrent writers whose appends land in the same commit groups, each kind of append with
// what its answer must be, and the audit of the answers against the log afterwards. Used in one process by many
// fibers and in several processes at once (pgGroupCommitWriter.ts), each recording its appends as JSON lines.
import { Conflict, Event, EventStore, ExpectedVersion, StreamId, StreamVersion } from "@concord/core"
import { Client, Events, Registry } from "@concord/example-crm"
import { Checker } from "@concord/testing"
import { Effect, Either, Random } from "effect"

/**
 * What an append is, and so what its answer must be. `note`: a meeting note at a stale version, which commutes with
 * everything written after the registration, so it must go in. `value`, `email`: changes at a stale version, which go
 * in unless a conflicting change came after the version they expect. `resend`: an acknowledged batch sent again,
 * which must get its original result. `pair`: two batches sharing an event id, sent at once to two streams, of which
 * exactly one goes in and the other is a DuplicateEventId. `invalid`: data that is not JSON, refused before writing.
 */
export type Kind = "note" | "value" | "email" | "resend" | "pair" | "invalid"

type RecordedEvent = Event.EventData & { readonly id: Event.EventId }

export type Outcome =
  | { readonly _tag: "Acknowledged"; readonly result: EventStore.AppendResult }
  | {
    readonly _tag: "Rejected"
    readonly error: string
    readonly streamId?: string | undefined
    readonly expectedVersion?: number | undefined
    readonly eventIds?: ReadonlyArray<string> | undefined
    readonly conflicts?: ReadonlyArray<Conflict.ConflictingPair> | undefined
  }

/** One line a writer records: before an append (`sending`) and after it (`outcome`). */
export interface Line {
  readonly kind: "sending" | "outcome"
  readonly append: Kind
  /** The attempt's own key, shared by its two lines. */
  readonly key: string
  /** `resend`: the key of the attempt sent again; `pair`: the key of the other half. */
  readonly related?: string | undefined
  readonly streamId: string
  readonly expected: number
  readonly events: ReadonlyArray<RecordedEvent>
  readonly outcome?: Outcome | undefined
}

const outcomeOf = (answer: Either.Either<EventStore.AppendResult, EventStore.AppendError>): Outcome => {
  if (Either.isRight(answer)) return { _tag: "Acknowledged", result: answer.right }
  const error = answer.left
  return {
    _tag: "Rejected",
    error: error._tag,
    streamId: "streamId" in error ? error.streamId : undefined,
    expectedVersion: error._tag === "ConcurrencyConflict" ? error.expectedVersion : undefined,
    eventIds: error._tag === "DuplicateEventId" ? error.eventIds : undefined,
    conflicts: error._tag === "ConcurrencyConflict" ? error.conflicts : undefined
  }
}

const contacts = ["alice", "bob", "carol"]

/**
 * `fibers` writers of one process appending `rounds` times each to `streams` (registered before), recording every
 * append with `record`. Expected versions come from what the process last heard of each stream (an acknowledgement, a
 * conflict's actual version), half the time less 1 to 3.
 */
export const workload = (options: {
  readonly name: string
  readonly streams: ReadonlyArray<string>
  readonly fibers: number
  readonly rounds: number
  readonly record: (line: Line) => void
}) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const known = new Map<string, number>()
    for (const stream of options.streams) known.set(stream, yield* store.version(StreamId.make(stream)))

    const send = (line: Omit<Line, "kind" | "outcome">) =>
      Effect.gen(function*() {
        options.record({ ...line, kind: "sending" })
        const answer = yield* Effect.either(
          store.append(StreamId.make(line.streamId), ExpectedVersion.exact(line.expected), line.events)
        )
        const heard = Either.isRight(answer)
          ? answer.right.lastVersion
          : answer.left._tag === "ConcurrencyConflict"
          ? answer.left.actualVersion
          : 0
        known.set(line.streamId, Math.max(known.get(line.streamId) ?? 0, heard))
        const outcome = outcomeOf(answer)
        options.record({ ...line, kind: "outcome", outcome })
        return outcome
      })

    const writer = (fiber: number) =>
      Effect.gen(function*() {
        const acknowledged: Array<Omit<Line, "kind" | "outcome">> = []
        const pick = <A>(values: ReadonlyArray<A>) =>
          Effect.map(Random.nextIntBetween(0, values.length), (i) => values[i]!)
        /** A stream and the version last heard of, or, half the time, one 1 to 3 before it. */
        const target = Effect.gen(function*() {
          const streamId = yield* pick(options.streams)
          const staleness = (yield* Random.nextBoolean) ? 0 : yield* Random.nextIntBetween(1, 4)
          return { streamId, expected: Math.max(1, (known.get(streamId) ?? 1) - staleness) }
        })
        for (let round = 0; round < options.rounds; round++) {
          const key = (half = "") => `${options.name}-${fiber}-${round}${half}`
          const id = (half = "") => Event.EventId.make(key(half))
          const n = yield* Random.nextIntBetween(0, 1_000_000)
          const note = (eventId: Event.EventId): RecordedEvent => ({
            id: eventId,
            type: "MeetingNoteAdded",
            data: { noteId: eventId, author: options.name, text: `note ${n}` }
          })
          const roll = yield* Random.nextIntBetween(0, 100)
          if (roll < 30) {
            const line = { append: "note" as const, key: key(), ...yield* target, events: [note(id())] }
            if ((yield* send(line))._tag === "Acknowledged") acknowledged.push(line)
          } else if (roll < 55) {
            const type = n % 2 === 0 ? "ClientValueUpgraded" : "ClientValueDowngraded"
            const line = {
              append: "value" as const,
              key: key(),
              ...yield* target,
              events: [{ id: id(), type, data: { value: n } }]
            }
            if ((yield* send(line))._tag === "Acknowledged") acknowledged.push(line)
          } else if (roll < 70) {
            const data = { contactId: contacts[n % contacts.length]!, email: `${n}@acme.test` }
            const line = {
              append: "email" as const,
              key: key(),
              ...yield* target,
              events: [{ id: id(), type: "ContactEmailChanged", data }]
            }
            if ((yield* send(line))._tag === "Acknowledged") acknowledged.push(line)
          } else if (roll < 80 && acknowledged.length > 0) {
            const original = yield* pick(acknowledged)
            yield* send({ ...original, append: "resend", key: key(), related: original.key })
          } else if (roll < 90 && options.streams.length > 1) {
            // The same event id, sent to two streams at once: both are in the queue together.
            const [first, second] = [yield* target, yield* target]
            if (first.streamId === second.streamId) continue
            const shared = id("-shared")
            yield* Effect.all([
              send({ append: "pair", key: key("a"), related: key("b"), ...first, events: [note(shared)] }),
              send({ append: "pair", key: key("b"), related: key("a"), ...second, events: [note(shared)] })
            ], { concurrency: "unbounded" })
          } else {
            // Refused before writing, sent at once with a valid append, which must not suffer for it.
            const invalid = { ...note(id("-invalid")), data: { noteId: "x", author: "x", text: Number.NaN } }
            yield* Effect.all([
              send({ append: "invalid", key: key("-invalid"), ...yield* target, events: [invalid] }),
              send({ append: "note", key: key(), ...yield* target, events: [note(id())] })
            ], { concurrency: "unbounded" })
          }
        }
      })

    yield* Effect.all(Array.from({ length: options.fibers }, (_, fiber) => writer(fiber)), {
      concurrency: "unbounded",
      discard: true
    })
  })

const decode = Event.decode(Events.CrmEvent)
const fold: Checker.Fold<Client.Client> = {
  initialState: Client.initial,
  evolve: (state, event) => Client.evolve(state, Effect.runSync(decode(event)))
}

/** Registers one client per stream, as acknowledged attempts for the checker. */
export const registerClients = (streams: ReadonlyArray<string>) =>
  Effect.flatMap(
    EventStore.EventStore,
    (store) =>
      Effect.forEach(streams, (id): Effect.Effect<Checker.Attempt, EventStore.AppendError> => {
        const events = [{
          id: Event.EventId.make(`${id}-registered`),
          type: "ClientRegistered",
          data: { name: id, value: 100 }
        }]
        return Effect.map(store.append(StreamId.make(id), ExpectedVersion.noStream, events), (result) => ({
          streamId: id,
          expectedVersion: ExpectedVersion.noStream,
          events,
          registry: Registry.registry,
          outcome: { _tag: "Acknowledged", result }
        }))
      })
  )

/** The recorded lines as attempts: an outcome for each that has one, `Unknown` for one sent and never answered. */
const attemptsOf = (lines: ReadonlyArray<Line>): ReadonlyArray<Checker.Attempt> => {
  const answered = new Set(lines.filter((line) => line.kind === "outcome").map((line) => line.key))
  return lines.flatMap((line): Array<Checker.Attempt> => {
    if (line.kind === "sending" && answered.has(line.key)) return []
    const outcome: Checker.Attempt["outcome"] = line.outcome === undefined
      ? { _tag: "Unknown" }
      : line.outcome._tag === "Rejected"
      ? line.outcome
      : {
        _tag: "Acknowledged",
        result: {
          ...line.outcome.result,
          firstVersion: StreamVersion.make(line.outcome.result.firstVersion),
          lastVersion: StreamVersion.make(line.outcome.result.lastVersion)
        }
      }
    return [{
      streamId: line.streamId,
      expectedVersion: ExpectedVersion.exact(line.expected),
      events: line.events,
      registry: Registry.registry,
      outcome
    }]
  })
}

/** What the audit counted: how many appends of each kind went in and were refused, and how. */
export type Tally = Record<string, number>

/**
 * Every problem with the answers and the log, in words, and a tally. The checker: nothing lost, duplicated or falsely
 * accepted, every append of unknown outcome whole or absent, the log the fold of what was acknowledged (when every
 * append was answered). Then each
 * answer against its kind: a note never refused, a change refused only for a conflicting change it names and the log
 * holds where it says, a resend answered with its original result, exactly one of a pair in and the other a
 * DuplicateEventId naming the shared id, an invalid append refused as invalid; each error naming its own append's
 * stream and version. Resends are left out of the checker's attempts: they add nothing, and would be folded twice.
 */
export const audit = (
  lines: ReadonlyArray<Line>,
  logs: ReadonlyMap<string, ReadonlyArray<Event.RecordedEvent>>,
  registered: ReadonlyArray<Checker.Attempt>
): { readonly problems: ReadonlyArray<string>; readonly tally: Tally } => {
  const attempts = attemptsOf(lines.filter((line) => line.append !== "resend"))
  const problems: Array<string> = [
    ...Checker.check({
      logs,
      attempts: [...registered, ...attempts],
      // An append never answered may be stored, and then no acknowledgement accounts for it.
      fold: attempts.some((attempt) => attempt.outcome._tag === "Unknown") ? undefined : fold
    })
  ]
  const tally: Tally = {}
  const outcomes = new Map(lines.filter((line) => line.kind === "outcome").map((line) => [line.key, line]))
  for (const line of outcomes.values()) {
    const outcome = line.outcome!
    const label = `${line.append} ${line.key} to ${line.streamId}@${line.expected}`
    const name = outcome._tag === "Acknowledged"
      ? outcome.result.rebasedOver > 0 ? "acknowledged past others" : "acknowledged"
      : outcome.error
    tally[`${line.append}: ${name}`] = (tally[`${line.append}: ${name}`] ?? 0) + 1
    const related = line.related === undefined ? undefined : outcomes.get(line.related)
    if (outcome._tag === "Rejected" && outcome.streamId !== line.streamId) {
      problems.push(`${label}: its ${outcome.error} names stream ${outcome.streamId}`)
    }
    switch (line.append) {
      case "note":
        if (outcome._tag === "Rejected") problems.push(`${label} commutes, yet was refused: ${outcome.error}`)
        break
      case "value":
      case "email":
        if (outcome._tag === "Rejected") {
          if (outcome.error !== "ConcurrencyConflict") problems.push(`${label} was refused: ${outcome.error}`)
          else problems.push(...conflictProblems(label, line, outcome.expectedVersion, outcome.conflicts, logs))
        }
        break
      case "resend": {
        const original = related?.outcome
        if (original?._tag !== "Acknowledged") problems.push(`${label}: its original is not acknowledged`)
        else if (outcome._tag !== "Acknowledged") problems.push(`${label} was refused: ${outcome.error}`)
        else if (JSON.stringify(outcome.result) !== JSON.stringify(original.result)) {
          problems.push(`${label} answered ${JSON.stringify(outcome.result)}, not ${JSON.stringify(original.result)}`)
        }
        break
      }
      case "pair": {
        const other = related?.outcome
        if (other === undefined) break
        const ins = [outcome, other].filter((o) => o._tag === "Acknowledged").length
        if (ins !== 1) problems.push(`${label}: ${ins} of the pair sharing an event id went in`)
        if (outcome._tag === "Rejected") {
          const shared = line.events.map((event) => event.id)
          if (outcome.error !== "DuplicateEventId") problems.push(`${label} was refused: ${outcome.error}`)
          else if (JSON.stringify(outcome.eventIds) !== JSON.stringify(shared)) {
            problems.push(`${label}: its DuplicateEventId names ${outcome.eventIds?.join(", ")}, not ${shared}`)
          }
        }
        break
      }
      case "invalid":
        if (outcome._tag !== "Rejected" || outcome.error !== "InvalidEventData") {
          problems.push(`${label} was answered ${outcome._tag === "Rejected" ? outcome.error : "as stored"}`)
        }
        break
    }
  }
  return { problems, tally }
}

/** A conflict is the append's own: its version, and pairs naming events that are in the log where said, and clash. */
const conflictProblems = (
  label: string,
  line: Line,
  expectedVersion: number | undefined,
  conflicts: ReadonlyArray<Conflict.ConflictingPair> | undefined,
  logs: ReadonlyMap<string, ReadonlyArray<Event.RecordedEvent>>
): ReadonlyArray<string> => {
  if (expectedVersion !== line.expected) return [`${label}: its conflict expected ${expectedVersion}`]
  if (conflicts === undefined || conflicts.length === 0) return [`${label}: its conflict names no pair`]
  return conflicts.flatMap((pair) => {
    const committed = logs.get(line.streamId)?.[pair.committedVersion - 1]
    const proposed = line.events[pair.proposedIndex]
    if (committed === undefined || committed.id !== pair.committedId || committed.type !== pair.committedType) {
      return [`${label}: its conflict names ${pair.committedId}@${pair.committedVersion}, not in the log so`]
    }
    if (pair.committedVersion <= line.expected) return [`${label}: its conflict names a version it had seen`]
    if (proposed === undefined || proposed.type !== pair.proposedType) {
      return [`${label}: its conflict names another event`]
    }
    return Conflict.detect(Registry.registry, [committed], [proposed]).length === 0
      ? [`${label}: ${pair.committedType} does not conflict with ${pair.proposedType}`]
      : []
  })
}
