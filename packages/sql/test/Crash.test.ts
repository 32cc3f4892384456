import { EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { Registry } from "@concord/example-crm"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { Checker } from "@concord/testing"
import { describe, expect, inject, it } from "@effect/vitest"
import { Chunk, Effect, Either, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { readAttempts, startWriter } from "./support/processes.js"
import { postgresSuites } from "./support/suites.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-crash-"))
const sqliteFile = path.join(directory, "crash.db")
const pgUrl = inject("pgUrl")

const targets = [
  { suite: "a writer killed with SIGKILL on SQLite", backend: "sqlite" as const, target: sqliteFile, skip: false },
  { suite: postgresSuites.crash, backend: "pg" as const, target: pgUrl ?? "", skip: pgUrl === undefined }
]

const layerFor = (target: (typeof targets)[number], tablePrefix: string) =>
  target.backend === "sqlite"
    ? SqliteEventStore.layer({ filename: target.target, tablePrefix, registry: Registry.registry })
    : PgEventStore.layer({ url: target.target, tablePrefix, registry: Registry.registry })

const waitForLines = (file: string, count: number) =>
  Effect.promise(async () => {
    while (!fs.existsSync(file) || fs.readFileSync(file, "utf8").split("\n").length < count) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })

for (const target of targets) {
  describe.skipIf(target.skip)(target.suite, () => {
    const prefix = `crash_${target.backend}_${Date.now().toString(36)}_`
    it.effect(
      "leaves no partial batch, and re-sending its last batch with the same ids is idempotent",
      () =>
        Effect.gen(function*() {
          const store = yield* EventStore.EventStore
          const streamId = StreamId.make(`client-crash-${prefix}`)
          yield* store.append(streamId, ExpectedVersion.noStream, [{
            type: "ClientRegistered",
            data: { name: "x", value: 1 }
          }])
          const out = path.join(directory, `${prefix}.jsonl`)
          const writer = startWriter({
            name: "doomed",
            backend: target.backend,
            target: target.target,
            tablePrefix: prefix,
            streams: [streamId],
            appends: 100_000,
            batch: [40, 40],
            out
          })
          yield* waitForLines(out, 60 + Math.floor(Math.random() * 40))
          writer.kill("SIGKILL")
          expect(yield* Effect.promise(() => writer.finished)).toBe(null)

          const attempts = readAttempts(out)
          const log = Chunk.toArray(yield* Stream.runCollect(store.read(streamId)))
          const registered = {
            streamId,
            expectedVersion: ExpectedVersion.noStream,
            events: [{ ...log[0]!, id: log[0]!.id }],
            registry: Registry.registry,
            outcome: {
              _tag: "Acknowledged" as const,
              result: { streamId, firstVersion: log[0]!.version, lastVersion: log[0]!.version, rebasedOver: 0 }
            }
          }
          expect(Checker.check({ logs: new Map([[streamId, log]]), attempts: [registered, ...attempts] })).toEqual([])

          // The batch in flight when the writer died (or its last one) is re-sent, twice, with the same ids.
          const last = attempts[attempts.length - 1]!
          const resend = () => store.append(streamId, last.expectedVersion, last.events)
          const first = yield* Effect.either(resend())
          const versionAfterFirst = yield* store.version(streamId)
          const second = yield* Effect.either(resend())
          expect(second).toEqual(first)
          expect(yield* store.version(streamId)).toBe(versionAfterFirst)
          if (last.outcome._tag === "Acknowledged") expect(first).toEqual(Either.right(last.outcome.result))
          const ids = new Set(last.events.map((e) => e.id))
          const stored = Chunk.toArray(yield* Stream.runCollect(store.read(streamId))).filter((e) => ids.has(e.id))
          expect(stored.length === 0 || stored.length === last.events.length).toBe(true)
          console.log(`${target.backend}: killed after ${attempts.length} appends; the last was ${last.outcome._tag}`)
        }).pipe(Effect.provide(layerFor(target, prefix))),
      { timeout: 120_000 }
    )
  })
}
