// Group commit in many OS processes on one PostgreSQL database: each process commits its own fibers' appends in groups,
// and the groups of different processes meet on the same streams (their guarded writes, their unique keys, their
// locks). Then a process killed with SIGKILL while its groups are on their way: no append partly stored.
import { Registry } from "@concord/example-crm"
import { PgEventStore } from "@concord/sql/pg"
import { Checker } from "@concord/testing"
import { describe, expect, inject, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { audit, type Line, registerClients } from "./support/pgGroupCommit.js"
import type { GroupWriterOptions } from "./support/pgGroupCommitWriter.js"
import { startProcess } from "./support/processes.js"
import { postgresSuites } from "./support/suites.js"

const pgUrl = inject("pgUrl")
const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-group-"))
const writerScript = fileURLToPath(new URL("./support/pgGroupCommitWriter.ts", import.meta.url))

/** Starts one writer process (support/pgGroupCommitWriter.ts). */
const startWriter = (options: GroupWriterOptions) => startProcess(writerScript, options)

/** The lines a writer recorded; one killed while recording leaves at most its last line unfinished. */
const readLines = (file: string): ReadonlyArray<Line> => {
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""
  const complete = text.endsWith("\n") ? text : text.slice(0, text.lastIndexOf("\n") + 1)
  return complete.split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line) as Line)
}

describe.skipIf(pgUrl === undefined)(postgresSuites.groupCommitProcesses, () => {
  const url = pgUrl ?? ""

  it.effect(
    "4 processes of 8 fibers each, their groups meeting on the same streams: nothing lost, duplicated, falsely accepted or wrongly refused, each error the append's own",
    () => {
      const prefix = `group_procs_${Date.now().toString(36)}_`
      return Effect.gen(function*() {
        // Enough streams that many appends find their stream where they expect it, and go in as part of a group.
        const streams = Array.from({ length: 16 }, (_, i) => `client-${i}-${prefix}`)
        const registered = yield* registerClients(streams)
        const outs = Array.from({ length: 4 }, (_, i) => path.join(directory, `${prefix}p${i}.jsonl`))
        const writers = outs.map((out, i) =>
          startWriter({ name: `p${i}`, url, tablePrefix: prefix, streams, fibers: 8, rounds: 40, out })
        )
        expect(yield* Effect.promise(() => Promise.all(writers.map((w) => w.finished)))).toEqual([0, 0, 0, 0])
        const lines = outs.flatMap(readLines)
        const { problems, tally } = audit(lines, yield* Checker.readLogs(streams), registered)
        expect(problems).toEqual([])
        for (
          const outcome of [
            "note: acknowledged past others",
            "value: ConcurrencyConflict",
            "resend: acknowledged",
            "pair: DuplicateEventId",
            "invalid: InvalidEventData"
          ]
        ) expect(tally[outcome] ?? 0, outcome).toBeGreaterThan(0)
        // Every append answered.
        const sent = lines.filter((line) => line.kind === "sending").length
        expect(lines.filter((line) => line.kind === "outcome")).toHaveLength(sent)
        console.log(`group commit, 4 processes: ${JSON.stringify(tally)}`)
      }).pipe(Effect.provide(PgEventStore.layer({ url, tablePrefix: prefix, registry: Registry.registry })))
    },
    { timeout: 300_000 }
  )

  it.effect(
    "a process killed with SIGKILL while its groups are on their way: every append whole or absent, every acknowledged one stored",
    () => {
      const prefix = `group_kill_${Date.now().toString(36)}_`
      return Effect.gen(function*() {
        const streams = ["client-a", "client-b", "client-c"].map((s) => `${s}-${prefix}`)
        const registered = yield* registerClients(streams)
        const out = path.join(directory, `${prefix}doomed.jsonl`)
        const writer = startWriter({
          name: "doomed",
          url,
          tablePrefix: prefix,
          streams,
          fibers: 16,
          rounds: 100_000,
          out
        })
        // Killed once it has answered a few hundred appends, with many more on their way.
        yield* Effect.promise(async () => {
          while (readLines(out).filter((line) => line.kind === "outcome").length < 200 + Math.random() * 200) {
            await new Promise((resolve) => setTimeout(resolve, 5))
          }
        })
        writer.kill("SIGKILL")
        expect(yield* Effect.promise(() => writer.finished)).toBe(null)
        const lines = readLines(out)
        const { problems, tally } = audit(lines, yield* Checker.readLogs(streams), registered)
        expect(problems).toEqual([])
        const unanswered = lines.filter((line) => line.kind === "sending").length -
          lines.filter((line) => line.kind === "outcome").length
        console.log(`group commit, killed: ${unanswered} appends unanswered; ${JSON.stringify(tally)}`)
      }).pipe(Effect.provide(PgEventStore.layer({ url, tablePrefix: prefix, registry: Registry.registry })))
    },
    { timeout: 120_000 }
  )
})
