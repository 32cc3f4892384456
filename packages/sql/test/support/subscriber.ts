// One subscriber process for the read side's many-process tests: it follows the store's global log from the start and
// records every event it is delivered as a JSON line (id, stream, version, type, position), a chunk at a time, until
// it is killed. A file `<out>.ready` says the store is open and the subscription started.
import { EventStore, Position } from "@concord/core"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { Chunk, Effect, Stream } from "effect"
import * as fs from "node:fs"

export interface SubscriberOptions {
  readonly backend: "sqlite" | "pg"
  readonly target: string
  readonly tablePrefix: string
  readonly out: string
}

/** What the subscriber records of each event it is delivered. */
export interface DeliveredLine {
  readonly id: string
  readonly streamId: string
  readonly version: number
  readonly type: string
  readonly position: string
}

const options = JSON.parse(process.argv[2]!) as SubscriberOptions

const program = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  fs.writeFileSync(options.out, "")
  yield* Effect.sync(() => fs.writeFileSync(`${options.out}.ready`, ""))
  yield* Stream.runForEachChunk(store.subscribe(), (chunk) =>
    Effect.sync(() =>
      fs.appendFileSync(
        options.out,
        Chunk.toReadonlyArray(chunk).map((event) =>
          JSON.stringify(
            {
              id: event.id,
              streamId: event.streamId,
              version: event.version,
              type: event.type,
              position: Position.toString(event.position)
            } satisfies DeliveredLine
          ) + "\n"
        ).join("")
      )
    ))
})

const store = options.backend === "sqlite"
  ? SqliteEventStore.layer({ filename: options.target, tablePrefix: options.tablePrefix })
  : PgEventStore.layer({ url: options.target, tablePrefix: options.tablePrefix, maxConnections: 2 })

Effect.runPromise(program.pipe(Effect.provide(store))).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
