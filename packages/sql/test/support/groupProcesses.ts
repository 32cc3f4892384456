// Starting group commit writer processes (support/groupWriter.ts) and reading back what they recorded.
import { Registry } from "@concord/example-crm"
import type { Checker } from "@concord/testing"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import * as GroupCommit from "./groupCommit.js"
import type { GroupLine, GroupWriterOptions } from "./groupWriter.js"
import { type Started, startProcess } from "./processes.js"

const writerScript = fileURLToPath(new URL("./groupWriter.ts", import.meta.url))

/** Starts one group commit writer process (support/groupWriter.ts). */
export const startGroupWriter = (options: GroupWriterOptions): Started => startProcess(writerScript, options)

/** How many lines a writer has recorded so far. */
export const linesIn = (file: string) => fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").length - 1 : 0

/**
 * What one writer recorded: the appends it was answered, and, for the Checker, every append it sent, those it was
 * never answered (it was killed first) of unknown outcome.
 */
export const readGroupLines = (file: string): {
  readonly answered: ReadonlyArray<GroupCommit.Answered>
  readonly unanswered: ReadonlyArray<Checker.Attempt>
} => {
  const text = fs.readFileSync(file, "utf8")
  // A writer killed in the middle of recording leaves at most its last line unfinished.
  const complete = text.endsWith("\n") ? text : text.slice(0, text.lastIndexOf("\n") + 1)
  const lines = complete.split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line) as GroupLine)
  const key = (planned: GroupCommit.Planned) => `${planned.streamId}:${planned.events.map((e) => e.id).join(",")}`
  const answered: Array<GroupCommit.Answered> = []
  // A batch sent twice (twins) is answered twice: counted by key.
  const pending = new Map<string, { planned: GroupCommit.Planned; count: number }>()
  for (const line of lines) {
    const entry = pending.get(key(line.planned)) ?? { planned: line.planned, count: 0 }
    entry.count += line.kind === "sending" ? 1 : -1
    pending.set(key(line.planned), entry)
    if (line.kind === "answered") answered.push({ planned: line.planned, answer: line.answer })
  }
  const unanswered = [...pending.values()].filter((entry) => entry.count > 0).map(({ planned }): Checker.Attempt => ({
    streamId: planned.streamId,
    expectedVersion: GroupCommit.expectedOf(planned),
    events: planned.events,
    registry: Registry.registry,
    // One reusing an id stored before it was planned can only be refused, answered or not: none of its events may be
    // stored (but that one, where it already was). Left unknown, it would look partly stored.
    outcome: planned.kind === "duplicate" ? { _tag: "Rejected", error: "DuplicateEventId" } : { _tag: "Unknown" }
  }))
  return { answered, unanswered }
}
