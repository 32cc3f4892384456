// Starting consumer processes (./consumer.ts) and reading back what they recorded.
import { Programs } from "@concord/test-postgres"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import type { ConsumerProcessOptions, Line } from "./consumer.js"

const consumerScript = fileURLToPath(new URL("./consumer.ts", import.meta.url))

/** Starts one consumer process; its stderr is kept for the error message. */
export const startConsumer = (
  options: ConsumerProcessOptions
): ChildProcess & { readonly finished: Promise<number | null> } => {
  const child = spawn(process.execPath, [
    Programs.program(consumerScript),
    JSON.stringify(options)
  ], { stdio: ["ignore", "ignore", "pipe"] })
  let stderr = ""
  child.stderr?.on("data", (chunk) => (stderr += String(chunk)))
  const finished = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      if (code !== 0 && code !== null) console.error(`consumer ${options.owner} exited with ${code}:\n${stderr}`)
      resolve(code)
    })
  )
  return Object.assign(child, { finished })
}

/** What a consumer process recorded; a process killed while recording leaves at most its last line unfinished. */
export const readLines = (file: string): ReadonlyArray<Line> => {
  if (!fs.existsSync(file)) return []
  const text = fs.readFileSync(file, "utf8")
  const complete = text.endsWith("\n") ? text : text.slice(0, text.lastIndexOf("\n") + 1)
  return complete.split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line) as Line)
}

/** Polls until `condition` holds for the lines of `file`, failing after `millis`. */
export const waitForLines = async (
  file: string,
  condition: (lines: ReadonlyArray<Line>) => boolean,
  millis = 60_000
): Promise<ReadonlyArray<Line>> => {
  const deadline = Date.now() + millis
  for (;;) {
    const lines = readLines(file)
    if (condition(lines)) return lines
    if (Date.now() > deadline) throw new Error(`${file}: the expected lines did not come within ${millis} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
