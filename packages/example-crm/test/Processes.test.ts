// The read model in processes of its own: `npm run read-model` killed with SIGKILL and started again on the file a
// writer keeps appending to, and the demo following a read model served beside `concord serve`.
import { Consumer, Position } from "@concord/core"
import { Database, ReadModel } from "@concord/example-crm"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, Schedule } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { appendAll, checkpointAt, folded, knownHistory, logOf, rowsOf } from "./support/histories.js"
import { programs, registryFile, run, start } from "./support/processes.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-crm-"))

describe("the read model in processes of its own on one SQLite file", () => {
  it.live(
    "npm run read-model killed with SIGKILL mid-way: the table is the fold up to its checkpoint; started again, " +
      "the fold of the whole log",
    () => {
      const file = path.join(directory, "killed.db")
      const prefix = "client-killed-"
      const history = ["a", "b", "c"].flatMap((part) => knownHistory(`${prefix}${part}`))
      return Effect.gen(function*() {
        yield* appendAll(history.slice(0, 150))
        const first = yield* Effect.promise(() => start(programs.readModel, ["--db", file, "--port", "0"]))
        expect(first.output()).toContain(`The CRM read model of ${file} is listening on http://127.0.0.1:`)
        // The rest comes while it runs, paced so that it is killed while events still arrive.
        const writer = yield* Effect.fork(
          Effect.forEach(history.slice(150), (entry) => Effect.zipRight(appendAll([entry]), Effect.sleep("5 millis")))
        )
        // Each summary's version counts the events projected into it: kill once 200 are in.
        yield* rowsOf(prefix).pipe(
          Effect.repeat({
            until: (rows) => rows.reduce((sum, row) => sum + row.version, 0) >= 200,
            schedule: Schedule.spaced("10 millis")
          }),
          Effect.timeout("60 seconds")
        )
        yield* Effect.promise(() => first.stop("SIGKILL"))
        const checkpoint = Option.getOrThrow(yield* Consumer.checkpoint(ReadModel.consumer.name)).position
        const handled = (yield* logOf(prefix)).filter((event) => !Position.isAfter(event.position, checkpoint)).length
        expect(handled).toBeGreaterThanOrEqual(200)
        expect(yield* rowsOf(prefix)).toEqual(folded(history.slice(0, handled)))

        yield* Fiber.join(writer)
        expect(handled, "killed before the writer was done").toBeLessThan(history.length)
        // The lease of the killed process runs out (10 seconds), then the new one takes over where it stopped.
        const second = yield* Effect.promise(() => start(programs.readModel, ["--db", file, "--port", "0"]))
        yield* checkpointAt((yield* logOf(prefix)).at(-1)!.position)
        const served = yield* Effect.promise(async () => (await fetch(`${second.url}/clients`)).json())
        expect((served as ReadonlyArray<{ streamId: string }>).filter((row) => row.streamId.startsWith(prefix)))
          .toEqual(folded(history))
        expect(yield* Effect.promise(() => second.stop())).toBe(0)
      }).pipe(Effect.provide(Database.layerSqlite(file)))
    },
    120_000
  )

  it(
    "npm run demo -- --read-model follows the read model served beside concord serve on the service's file",
    async () => {
      const file = path.join(directory, "served.db")
      const service = await start(programs.concord, ["serve", "--port", "0", "--db", file, "--registry", registryFile])
      const readModel = await start(programs.readModel, ["--port", "0", "--db", file])
      try {
        const { code, stderr, stdout } = await run(programs.demo, ["--url", service.url, "--read-model", readModel.url])
        expect(stderr).toBe("")
        expect(code).toBe(0)
        const lines = stdout.trim().split("\n")
        expect(lines).toHaveLength(12)
        expect(lines.filter((line) => line.startsWith("   Read model"))).toEqual([
          "   Read model at version 5: Acme, expected value 150, 1 meeting note.",
          "   Read model at version 6: Acme, expected value 150, 1 → 2 meeting notes.",
          "   Read model at version 7: Acme, expected value 150 → 500, 2 meeting notes."
        ])
        const client = /stream (client-acme-\w+)/.exec(stdout)![1]!
        expect(await (await fetch(`${readModel.url}/clients/${client}`)).json()).toEqual({
          streamId: client,
          name: "Acme",
          expectedValue: 500,
          meetingNotes: 2,
          status: "active",
          version: 7
        })
      } finally {
        await readModel.stop()
        await service.stop()
      }
    },
    120_000
  )
})
