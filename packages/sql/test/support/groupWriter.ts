// One writer process for the group commit tests on many processes: rounds of appends of every kind
// (support/groupCommit.ts), each round fired at once so that its appends share commit groups. Every append is recorded
// as a JSON line, "sending" before the round and "answered" with its answer, so that a parent can tell which appends
// were in flight when the process was killed.
import { EventStore, StreamId } from "@concord/core"
import { Registry } from "@concord/example-crm"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as GroupCommit from "./groupCommit.js"

export interface GroupWriterOptions {
  readonly name: string
  readonly filename: string
  readonly streams: ReadonlyArray<string>
  readonly rounds: number
  readonly size: number
  readonly seed: number
  /** Whether to plan appends a trigger of the file refuses halfway (the parent installs it). */
  readonly poison: boolean
  readonly out: string
}

export type GroupLine =
  | { readonly kind: "sending"; readonly planned: GroupCommit.Planned }
  | { readonly kind: "answered"; readonly planned: GroupCommit.Planned; readonly answer: GroupCommit.Answer }

const options = JSON.parse(process.argv[2]!) as GroupWriterOptions

const record = (lines: ReadonlyArray<GroupLine>) =>
  fs.appendFileSync(options.out, lines.map((line) => JSON.stringify(line) + "\n").join(""))

const program = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  const next = GroupCommit.random(options.seed)
  const notes: Array<{ readonly streamId: string; readonly id: GroupCommit.Planned["events"][number]["id"] }> = []
  for (let round = 0; round < options.rounds; round++) {
    const versions = new Map<string, number>()
    for (const streamId of options.streams) versions.set(streamId, yield* store.version(StreamId.make(streamId)))
    const planned = GroupCommit.planRound({
      name: options.name,
      round,
      size: options.size,
      streams: options.streams,
      versions,
      storedElsewhere: notes[next(Math.max(1, notes.length))],
      poison: options.poison,
      next
    })
    record(planned.map((p) => ({ kind: "sending", planned: p })))
    yield* Effect.forEach(planned, (p) =>
      GroupCommit.answer(
        (append) => store.append(StreamId.make(append.streamId), GroupCommit.expectedOf(append), append.events),
        p
      ).pipe(
        Effect.tap(({ answer }) =>
          Effect.sync(() => {
            record([{ kind: "answered", planned: p, answer }])
            if (answer._tag === "Acknowledged" && p.kind === "note") {
              notes.push({ streamId: p.streamId, id: p.events[0]!.id })
            }
          })
        )
      ), { concurrency: "unbounded", discard: true })
  }
})

Effect.runPromise(
  program.pipe(Effect.provide(SqliteEventStore.layer({ filename: options.filename, registry: Registry.registry })))
).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
