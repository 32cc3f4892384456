// Subscriptions read over a plain fetch for load tests: many at once, events of any size (a message is found by its
// blank line without re-scanning the text before it), and how each one ended.
import type { Event } from "@concord/core"
import { Position } from "@concord/core"
import * as fs from "node:fs"
import * as http from "node:http"
import { toEvent } from "./sse.js"

/** How a subscription's response ended: its body ended (`Clean`), the connection broke (`Cut`), or we left. */
export type Ending =
  | { readonly _tag: "Clean"; readonly at: number }
  | { readonly _tag: "Cut"; readonly at: number; readonly error: string }
  | { readonly _tag: "Left"; readonly at: number }

export interface Subscriber {
  readonly url: string
  /** Each message's id (the event's position), in the order they came. */
  readonly ids: Array<string>
  /** The events delivered, decoded; only the ids are kept when the subscriber was made with `keepData: false`. */
  readonly events: () => ReadonlyArray<Event.RecordedEvent>
  /** The response's status, once its headers came. */
  readonly status: Promise<number>
  /** Settles when the response ends, however it ends. */
  readonly ended: Promise<Ending>
  /** Resolves once a message at or after `position` came; rejects when the response ends first or on timeout. */
  readonly reached: (position: Position.Position, timeoutMs?: number) => Promise<void>
  /** Closes the connection from our side. */
  readonly leave: () => void
}

/** Splits event-stream text into blocks as chunks come, joining a block's chunks only once its end arrived. */
const blockSplitter = (onBlock: (block: string) => void) => {
  let pending: Array<string> = []
  // Whether the text pending so far ends with "\n": a block's end may straddle two chunks.
  let endsWithNewline = false
  return (chunk: string) => {
    let from = 0
    if (endsWithNewline && chunk.startsWith("\n")) {
      onBlock(pending.join("").slice(0, -1))
      pending = []
      from = 1
    }
    for (;;) {
      const end = chunk.indexOf("\n\n", from)
      if (end === -1) break
      pending.push(chunk.slice(from, end))
      onBlock(pending.join(""))
      pending = []
      from = end + 2
    }
    const rest = chunk.slice(from)
    if (rest !== "") pending.push(rest)
    endsWithNewline = rest === "" ? endsWithNewline && pending.length > 0 : rest.endsWith("\n")
  }
}

/** The `id` and `data` fields of one block, or `undefined` for a comment. */
const fieldsOf = (block: string): { readonly id: string; readonly data: string } | undefined => {
  let id: string | undefined
  let data: string | undefined
  for (const line of block.split("\n")) {
    if (line.startsWith("id: ")) id = line.slice(4)
    else if (line.startsWith("data: ")) data = data === undefined ? line.slice(6) : `${data}\n${line.slice(6)}`
  }
  if (id === undefined && data === undefined) return undefined
  if (id === undefined || data === undefined) throw new Error(`a message without an id or data: ${block.slice(0, 200)}`)
  return { id, data }
}

/** Follows a subscription URL over fetch until the response ends or `leave` is called. */
export const subscribe = (
  url: string,
  options: { readonly headers?: Record<string, string>; readonly keepData?: boolean } = {}
): Subscriber => {
  const keepData = options.keepData ?? true
  const ids: Array<string> = []
  const data: Array<string> = []
  const waiters = new Set<() => void>()
  const controller = new AbortController()
  let finished: Ending | undefined
  let resolveStatus!: (status: number) => void
  const status = new Promise<number>((resolve) => (resolveStatus = resolve))
  const split = blockSplitter((block) => {
    const fields = fieldsOf(block)
    if (fields === undefined) return
    ids.push(fields.id)
    if (keepData) data.push(fields.data)
    for (const waiter of [...waiters]) waiter()
  })
  const ended = (async (): Promise<Ending> => {
    try {
      const response = await fetch(url, { headers: options.headers ?? {}, signal: controller.signal })
      resolveStatus(response.status)
      const decoder = new TextDecoder()
      for await (const chunk of response.body!) split(decoder.decode(chunk as Uint8Array, { stream: true }))
      return { _tag: "Clean", at: Date.now() }
    } catch (error) {
      resolveStatus(0)
      return controller.signal.aborted
        ? { _tag: "Left", at: Date.now() }
        : { _tag: "Cut", at: Date.now(), error: String((error as Error).cause ?? error) }
    } finally {
      for (const waiter of [...waiters]) waiter()
    }
  })().then((ending) => (finished = ending))
  const reached = (position: Position.Position, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => check(true), timeoutMs)
      const check = (timedOut = false) => {
        const last = ids.at(-1)
        if (last !== undefined && !Position.isAfter(position, Position.fromString(last)!)) {
          done()
          resolve()
        } else if (finished !== undefined || timedOut) {
          done()
          reject(
            new Error(
              `${url}: not at ${Position.toString(position)} ${
                finished === undefined ? `within ${timeoutMs} ms` : `when it ended (${finished._tag})`
              }; ${ids.length} delivered, the last ${last}`
            )
          )
        }
      }
      const done = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })
  return {
    url,
    ids,
    events: () => {
      if (!keepData) throw new Error(`${url}: made with keepData: false`)
      return data.map(toEvent)
    },
    status,
    ended,
    reached,
    leave: () => controller.abort()
  }
}

/**
 * A subscription whose reader never reads its body: once its socket's buffers are full, the service's writes to it
 * wait. Resolves when the response's headers came; `close` destroys the connection from our side.
 */
export const neverReads = (url: string) =>
  new Promise<{ readonly status: number; readonly close: () => void }>((resolve, reject) => {
    const request = http.get(url, { agent: false }, (response) => {
      response.pause()
      resolve({ status: response.statusCode ?? 0, close: () => request.destroy() })
    })
    request.on("error", reject)
  })

/** The resident set size of a process, in bytes, from /proc (Linux). */
export const residentBytes = (pid: number): number => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status)
  if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status`)
  return Number(match[1]) * 1024
}
