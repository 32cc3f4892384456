// Plain HTTP against a running service, for tests that look at the wire.
import { Event } from "@concord/core"
import * as Schema from "effect/Schema"

const decodeEvents = Schema.decodeUnknownSync(Schema.Array(Event.RecordedEvent))

export const getJson = async (url: string, headers: Record<string, string> = {}) => {
  const response = await fetch(url, { headers })
  const text = await response.text()
  return { status: response.status, text, body: JSON.parse(text) as any }
}

/** Appends with `expectedVersion: "any"`, failing the test on anything but a 200. */
export const appendAny = async (
  baseUrl: string,
  streamId: string,
  events: ReadonlyArray<{ readonly id?: string; readonly type: string; readonly data: unknown }>,
  headers: Record<string, string> = {}
) => {
  const response = await fetch(`${baseUrl}/streams/${encodeURIComponent(streamId)}/events`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ expectedVersion: "any", events })
  })
  if (response.status !== 200) throw new Error(`append to ${streamId}: ${response.status} ${await response.text()}`)
  return await response.json()
}

/** The whole global log through GET /events, page by page (`limit` events a page), decoded. */
export const readLog = async (
  baseUrl: string,
  query = "",
  limit = 10_000
): Promise<Array<Event.RecordedEvent>> => {
  const events: Array<Event.RecordedEvent> = []
  let after: string | undefined
  for (;;) {
    const page = await getJson(
      `${baseUrl}/events?limit=${limit}${after === undefined ? "" : `&after=${after}`}${query}`
    )
    if (page.status !== 200) throw new Error(`GET /events: ${page.status} ${page.text}`)
    events.push(...decodeEvents(page.body.events))
    if (page.body.events.length < limit) return events
    after = page.body.events.at(-1).position
  }
}

/** A stream's events through GET /streams/{id}/events, decoded. */
export const readStream = async (baseUrl: string, streamId: string): Promise<ReadonlyArray<Event.RecordedEvent>> => {
  const page = await getJson(`${baseUrl}/streams/${encodeURIComponent(streamId)}/events`)
  if (page.status !== 200) throw new Error(`GET stream ${streamId}: ${page.status} ${page.text}`)
  return decodeEvents(page.body.events)
}
