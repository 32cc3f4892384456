// One writer process for the many-process and crash tests. It appends CRM events to a few hot streams with stale
// expected versions on purpose, and records every attempt as a JSON line: "sending" before the append, then its
// outcome, so a parent can tell which append was in flight when the process was killed.
import { Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { Registry } from "@concord/example-crm"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { Effect, Random } from "effect"
import * as fs from "node:fs"

export interface WriterOptions {
  readonly name: string
  readonly backend: "sqlite" | "pg"
  readonly target: string
  readonly tablePrefix: string
  readonly streams: ReadonlyArray<string>
  readonly appends: number
  readonly batch: readonly [min: number, max: number]
  readonly out: string
}

const options = JSON.parse(process.argv[2]!) as WriterOptions

const crmEvent = (id: string) =>
  Effect.gen(function*() {
    const roll = yield* Random.nextIntBetween(0, 10)
    const n = yield* Random.nextIntBetween(0, 1_000_000)
    const event = (type: string, data: Record<string, unknown>): Event.EventData => ({
      id: Event.EventId.make(id),
      type,
      data
    })
    if (roll < 4) return event("MeetingNoteAdded", { noteId: id, author: options.name, text: `note ${n}` })
    if (roll < 7) {
      return event("ContactEmailChanged", { contactId: ["alice", "bob", "carol"][n % 3]!, email: `${n}@acme.test` })
    }
    if (roll < 9) return event("ClientValueUpgraded", { value: n })
    return event("ClientValueDowngraded", { value: n })
  })

const record = (line: unknown) => fs.appendFileSync(options.out, JSON.stringify(line) + "\n")

const program = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  for (let i = 0; i < options.appends; i++) {
    const streamId = StreamId.make(options.streams[yield* Random.nextIntBetween(0, options.streams.length)]!)
    const current = yield* store.version(streamId)
    const staleness = yield* Random.nextIntBetween(0, 4)
    const expected = Math.max(1, current - staleness)
    const size = yield* Random.nextIntBetween(options.batch[0], options.batch[1] + 1)
    const events = yield* Effect.forEach(Array.from({ length: size }, (_, k) => `${options.name}-${i}-${k}`), crmEvent)
    record({ kind: "sending", streamId, expected, events })
    const outcome = yield* Effect.either(store.append(streamId, ExpectedVersion.exact(expected), events))
    record({
      kind: "outcome",
      streamId,
      expected,
      events,
      outcome: outcome._tag === "Right"
        ? { _tag: "Acknowledged", result: outcome.right }
        : { _tag: "Rejected", error: outcome.left._tag }
    })
  }
})

const store = options.backend === "sqlite"
  ? SqliteEventStore.layer({
    filename: options.target,
    tablePrefix: options.tablePrefix,
    registry: Registry.registry
  })
  : PgEventStore.layer({
    url: options.target,
    tablePrefix: options.tablePrefix,
    registry: Registry.registry,
    maxConnections: 2
  })

Effect.runPromise(program.pipe(Effect.provide(store))).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
