// Starting a subscriber process (./subscriber.ts) and reading back what it was delivered.
import { Event, Position, StreamId, StreamVersion } from "@concord/core"
import { Programs } from "@concord/test-postgres"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import type { DeliveredLine, SubscriberOptions } from "./subscriber.js"

const subscriberScript = fileURLToPath(new URL("./subscriber.ts", import.meta.url))

/** Starts one subscriber process; `ready` resolves once it has opened the store and subscribed. */
export const startSubscriber = (
  options: SubscriberOptions
): ChildProcess & { readonly ready: Promise<void>; readonly exited: Promise<number | null> } => {
  const child = spawn(process.execPath, [
    Programs.program(subscriberScript),
    JSON.stringify(options)
  ], { stdio: ["ignore", "ignore", "pipe"] })
  let stderr = ""
  child.stderr?.on("data", (chunk) => (stderr += String(chunk)))
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      if (code !== 0 && code !== null) console.error(`the subscriber exited with ${code}:\n${stderr}`)
      resolve(code)
    })
  )
  const ready = new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (fs.existsSync(`${options.out}.ready`)) {
        clearInterval(poll)
        resolve()
      } else if (child.exitCode !== null) {
        clearInterval(poll)
        reject(new Error(`the subscriber exited with ${child.exitCode} before subscribing:\n${stderr}`))
      }
    }, 20)
  })
  return Object.assign(child, { ready, exited })
}

/**
 * The events a subscriber process recorded, as far as the checker's audits look at them (no data): every complete
 * line.
 */
export const readDelivered = (file: string): ReadonlyArray<Event.RecordedEvent> => {
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""
  const complete = text.endsWith("\n") ? text : text.slice(0, text.lastIndexOf("\n") + 1)
  return complete.split("\n").filter((line) => line.length > 0).map((line) => {
    const delivered = JSON.parse(line) as DeliveredLine
    return {
      id: Event.EventId.make(delivered.id),
      streamId: StreamId.make(delivered.streamId),
      version: StreamVersion.make(delivered.version),
      type: delivered.type,
      data: null,
      metadata: {},
      recordedAt: new Date(0),
      position: Position.fromString(delivered.position)!
    }
  })
}
