// Starting writer processes and reading back what they recorded.
import { ExpectedVersion, StreamVersion } from "@concord/core"
import type { Event, EventStore } from "@concord/core"
import { Registry } from "@concord/example-crm"
import { Programs } from "@concord/test-postgres"
import type { Checker } from "@concord/testing"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import type { WriterOptions } from "./writer.js"

const writerScript = fileURLToPath(new URL("./writer.ts", import.meta.url))

/** A started writer process, and its exit code once it ended. */
export type Started = ChildProcess & { readonly finished: Promise<number | null> }

/**
 * Starts the TypeScript program `script` (an absolute path) with `options` as its one JSON argument; its stderr is kept
 * for the error message when it exits with a failure.
 */
export const startProcess = (script: string, options: { readonly name: string }): Started => {
  const child = spawn(process.execPath, [Programs.program(script), JSON.stringify(options)], {
    stdio: ["ignore", "ignore", "pipe"]
  })
  let stderr = ""
  child.stderr?.on("data", (chunk) => (stderr += String(chunk)))
  const finished = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      if (code !== 0 && code !== null) console.error(`${options.name} exited with ${code}:\n${stderr}`)
      resolve(code)
    })
  )
  return Object.assign(child, { finished })
}

/** Starts one writer process (support/writer.ts). */
export const startWriter = (options: WriterOptions): Started => startProcess(writerScript, options)

interface Line {
  readonly kind: "sending" | "outcome"
  readonly streamId: string
  readonly expected: number
  readonly events: ReadonlyArray<Event.EventData & { readonly id: Event.EventId }>
  readonly outcome?: { readonly _tag: "Acknowledged"; readonly result: EventStore.AppendResult } | {
    readonly _tag: "Rejected"
    readonly error: string
  }
}

/** The attempts one writer recorded; an append it was sending when it died has an unknown outcome. */
export const readAttempts = (file: string): ReadonlyArray<Checker.Attempt> => {
  const text = fs.readFileSync(file, "utf8")
  // A writer killed in the middle of recording leaves at most its last line unfinished.
  const complete = text.endsWith("\n") ? text : text.slice(0, text.lastIndexOf("\n") + 1)
  const lines = complete.split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line) as Line)
  return lines.flatMap((line, i): Array<Checker.Attempt> => {
    const attempt = {
      streamId: line.streamId,
      expectedVersion: ExpectedVersion.exact(line.expected),
      events: line.events,
      registry: Registry.registry
    }
    if (line.kind === "outcome") {
      const outcome = line.outcome!
      return [{
        ...attempt,
        outcome: outcome._tag === "Rejected" ? outcome : {
          _tag: "Acknowledged",
          result: {
            ...outcome.result,
            firstVersion: StreamVersion.make(outcome.result.firstVersion),
            lastVersion: StreamVersion.make(outcome.result.lastVersion)
          }
        }
      }]
    }
    return lines[i + 1]?.kind === "outcome" ? [] : [{ ...attempt, outcome: { _tag: "Unknown" } }]
  })
}
