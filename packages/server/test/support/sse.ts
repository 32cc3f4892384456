// Reading the service's Server-Sent Events in tests: as a browser's EventSource does (undici's, which follows the
// HTML standard and reconnects with Last-Event-ID by itself), and over a plain fetch, parsed here independently of
// the client's own parser.
import { Event } from "@concord/core"
import { EventSource } from "@effect/platform-node/Undici"
import * as Schema from "effect/Schema"

const decodeEvent = Schema.decodeUnknownSync(Event.RecordedEvent)

/** Decodes one message's data: an event as `GET /events` returns it. */
export const toEvent = (data: string): Event.RecordedEvent => decodeEvent(JSON.parse(data))

/** What an EventSource received: its messages' ids and data, how often it opened, and its errors. */
export interface Followed {
  readonly ids: Array<string>
  readonly data: Array<string>
  readonly events: () => ReadonlyArray<Event.RecordedEvent>
  /** How many times the connection opened: more than once after a reconnection. */
  readonly opened: () => number
  /** Resolves once an event with this id (a position) has arrived. */
  readonly reached: (id: string, timeoutMs?: number) => Promise<void>
  readonly close: () => void
}

/** Follows a subscription URL with an EventSource, reconnecting after `reconnectionTime` when the connection drops. */
export const follow = (url: string, reconnectionTime = 100): Followed => {
  const source = new EventSource(url, { node: { reconnectionTime } })
  const ids: Array<string> = []
  const data: Array<string> = []
  const waiters = new Map<string, () => void>()
  let opened = 0
  source.onopen = () => opened++
  source.onmessage = (message) => {
    ids.push(message.lastEventId)
    data.push(message.data)
    waiters.get(message.lastEventId)?.()
  }
  return {
    ids,
    data,
    events: () => data.map(toEvent),
    opened: () => opened,
    reached: (id, timeoutMs = 30_000) =>
      ids.includes(id) ? Promise.resolve() : new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no event ${id} within ${timeoutMs} ms; got ${ids.length}, the last ${ids.at(-1)}`)),
          timeoutMs
        )
        waiters.set(id, () => {
          clearTimeout(timer)
          resolve()
        })
      }),
    close: () => source.close()
  }
}

/** One message of an event stream as it came on the wire. */
export interface RawMessage {
  readonly id: string | undefined
  readonly data: string | undefined
  readonly comment: boolean
}

/** Splits event-stream text into its blocks (messages and comments), returning the text left after the last one. */
export const parseBlocks = (text: string): { readonly messages: Array<RawMessage>; readonly rest: string } => {
  const blocks = text.split("\n\n")
  const rest = blocks.pop()!
  const messages = blocks.map((block) => {
    const lines = block.split("\n")
    const field = (name: string) => {
      const values = lines.filter((line) => line.startsWith(`${name}: `)).map((line) => line.slice(name.length + 2))
      return values.length === 0 ? undefined : values.join("\n")
    }
    return { id: field("id"), data: field("data"), comment: lines.every((line) => line.startsWith(":")) }
  })
  return { messages, rest }
}

/**
 * Reads a subscription over a plain fetch until `stop` says so (given the messages so far), then aborts the
 * connection. Resolves with the response's status and content type and every message received.
 */
export const readUntil = async (
  url: string,
  stop: (messages: ReadonlyArray<RawMessage>) => boolean,
  headers: Record<string, string> = {},
  timeoutMs = 30_000
): Promise<{ readonly status: number; readonly contentType: string | null; readonly messages: Array<RawMessage> }> => {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs)
  try {
    const response = await fetch(url, { headers, signal: controller.signal })
    const messages: Array<RawMessage> = []
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let text = ""
    while (!stop(messages)) {
      const { done, value } = await reader.read()
      if (done) break
      const parsed = parseBlocks(text + value)
      messages.push(...parsed.messages)
      text = parsed.rest
    }
    controller.abort()
    return { status: response.status, contentType: response.headers.get("content-type"), messages }
  } finally {
    clearTimeout(timer)
  }
}
