// Load on running services while their PostgreSQL is out, each request timed, and the audit of what the store kept.
import { Event, Position } from "@concord/core"
import * as Schema from "effect/Schema"
import { isDeepStrictEqual } from "node:util"
import { readLog } from "./http.js"

/** A batch a client sends, with ids of its own so that it can be sent again. */
export interface Batch {
  readonly key: string
  readonly streamId: string
  readonly events: ReadonlyArray<{ readonly id: string; readonly type: string; readonly data: unknown }>
}

/**
 * What an answer says about the batch: stored at these versions; surely not written (`AppendTimeout` with
 * `mayHaveCommitted: false`); maybe written (`mayHaveCommitted: true`, any other 503, no answer); or an answer an
 * outage should never cause.
 */
export type Outcome =
  | { readonly _tag: "Acknowledged"; readonly firstVersion: number; readonly lastVersion: number }
  | { readonly _tag: "NotWritten" }
  | { readonly _tag: "Uncertain" }
  | { readonly _tag: "Unexpected" }

/** One request as the client saw it; times in milliseconds since the scenario began. */
export interface Timed {
  readonly what: string
  readonly server: string
  readonly startedAt: number
  readonly durationMs: number
  /** `undefined`: no answer (the connection failed, or nothing came before the client gave up). */
  readonly status: number | undefined
  readonly body: string
}

export interface Sent extends Timed {
  readonly batch: Batch
  readonly outcome: Outcome
}

const outcomeOf = (status: number | undefined, body: string): Outcome => {
  if (status === undefined) return { _tag: "Uncertain" }
  let json: any
  try {
    json = JSON.parse(body)
  } catch {
    return { _tag: "Unexpected" }
  }
  if (status === 200) return { _tag: "Acknowledged", firstVersion: json.firstVersion, lastVersion: json.lastVersion }
  if (status === 503 && json._tag === "AppendTimeout") {
    return json.mayHaveCommitted === false ? { _tag: "NotWritten" } : { _tag: "Uncertain" }
  }
  return status === 503 && json._tag === "ServiceUnavailable" ? { _tag: "Uncertain" } : { _tag: "Unexpected" }
}

/** A clock for one scenario: milliseconds since it was made. */
export const stopwatch = () => {
  const origin = performance.now()
  return () => Math.round(performance.now() - origin)
}

/**
 * A request for `path`, timed on `clock` and given up after `giveUpMs` (so that a hang is a finding, not a stuck
 * test); `what` names it in reports.
 */
const timed = async (
  clock: () => number,
  what: string,
  server: string,
  path: string,
  giveUpMs: number,
  init?: RequestInit
) => {
  const startedAt = clock()
  let status: number | undefined
  let body: string
  try {
    const response = await fetch(`${server}${path}`, { ...init, signal: AbortSignal.timeout(giveUpMs) })
    body = await response.text()
    status = response.status
  } catch (error) {
    body = `no answer: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`
  }
  return { what, server, startedAt, durationMs: clock() - startedAt, status, body }
}

/** Sends a batch with `expectedVersion: "any"`, timed. */
export const send = async (clock: () => number, server: string, batch: Batch, giveUpMs: number): Promise<Sent> => {
  const path = `/streams/${encodeURIComponent(batch.streamId)}/events`
  const answer = await timed(clock, `POST ${path} (${batch.key})`, server, path, giveUpMs, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ expectedVersion: "any", events: batch.events })
  })
  return { ...answer, batch, outcome: outcomeOf(answer.status, answer.body) }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Clients that each send batch after batch (spread over the servers and streams, a short pause between) until
 * `running()` turns false, and a poller of every server's `/health`; every request is recorded as it completes.
 */
export const load = (options: {
  readonly clock: () => number
  readonly servers: ReadonlyArray<string>
  readonly streams: ReadonlyArray<string>
  readonly clients: number
  readonly giveUpMs: number
  readonly running: () => boolean
}) => {
  const sent: Array<Sent> = []
  const health: Array<Timed> = []
  const { clock, servers, streams, giveUpMs, running } = options
  const clients = Array.from({ length: options.clients }, async (_, client) => {
    for (let i = 0; running(); i++) {
      const streamId = streams[(client + i) % streams.length]!
      const key = `${streamId}-c${client}-b${i}`
      const events = [0, 1, 2].map((k) => ({ id: `${key}-e${k}`, type: "Noted", data: { client, i, k } }))
      sent.push(await send(clock, servers[client % servers.length]!, { key, streamId, events }, giveUpMs))
      await pause(40)
    }
  })
  const pollers = servers.map(async (server) => {
    while (running()) {
      health.push(await timed(clock, "GET /health", server, "/health", giveUpMs))
      await pause(150)
    }
  })
  return { sent, health, done: Promise.all([...clients, ...pollers]).then(() => undefined) }
}

/** What the store holds of some streams: each stream read page by page, and the global log's events of them. */
export interface Snapshot {
  readonly streams: ReadonlyMap<string, ReadonlyArray<Event.RecordedEvent>>
  readonly log: ReadonlyArray<Event.RecordedEvent>
}

const decodeEvents = Schema.decodeUnknownSync(Schema.Array(Event.RecordedEvent))

/** A stream's events through `GET /streams/{id}/events`, page by page. */
const readStream = async (server: string, streamId: string) => {
  const events: Array<Event.RecordedEvent> = []
  const limit = 1_000
  for (;;) {
    const url = `${server}/streams/${encodeURIComponent(streamId)}/events?from=${events.length + 1}&limit=${limit}`
    const response = await fetch(url)
    const text = await response.text()
    if (response.status !== 200) throw new Error(`GET stream ${streamId}: ${response.status} ${text}`)
    const page = decodeEvents(JSON.parse(text).events)
    events.push(...page)
    if (page.length < limit) return events
  }
}

/** The streams read through one server, the global log through another (both when there is one). */
export const snapshot = async (servers: ReadonlyArray<string>, streams: ReadonlyArray<string>): Promise<Snapshot> => {
  const read = await Promise.all(streams.map((id) => readStream(servers[0]!, id)))
  const log = await readLog(servers[servers.length - 1]!, "", 1_000)
  const ours = new Set(streams)
  return {
    streams: new Map(streams.map((id, i) => [id, read[i]!])),
    log: log.filter((event) => ours.has(event.streamId))
  }
}

/** Where a batch is stored: all its events, in order, at consecutive versions of its stream. */
export interface Stored {
  readonly firstVersion: number
  readonly lastVersion: number
}

const stored = (s: Stored) => `${s.firstVersion}..${s.lastVersion}`

/**
 * What is wrong with a snapshot whatever the answers were: a stream whose versions are not 1, 2, 3…; an event
 * nobody sent, or stored twice; a batch stored in part, out of order or changed; a global log that is not exactly
 * the streams' events, each stream's in version order. Also where each whole batch is.
 */
export const audit = (snap: Snapshot, batches: ReadonlyMap<string, Batch>) => {
  const violations: Array<string> = []
  const sentIds = new Map<string, { readonly batch: Batch; readonly index: number }>()
  for (const batch of batches.values()) batch.events.forEach((event, index) => sentIds.set(event.id, { batch, index }))
  const found = new Map<string, Event.RecordedEvent>()
  for (const [streamId, events] of snap.streams) {
    events.forEach((event, i) => {
      if (event.streamId !== streamId || event.version !== i + 1) {
        violations.push(`stream ${streamId}: event ${i + 1} is ${event.streamId}@${event.version} (${event.id})`)
      }
      if (found.has(event.id)) violations.push(`event ${event.id} stored twice (${streamId}@${event.version})`)
      if (!sentIds.has(event.id)) violations.push(`event ${event.id} at ${streamId}@${event.version}: never sent`)
      found.set(event.id, event)
    })
  }
  const where = new Map<string, Stored>()
  for (const batch of batches.values()) {
    const events = batch.events.map((event) => found.get(event.id))
    const present = events.filter((event) => event !== undefined)
    if (present.length === 0) continue
    const first = present[0]!.version
    const whole = present.length === events.length &&
      events.every((event, k) =>
        event!.streamId === batch.streamId && event!.version === first + k &&
        event!.type === batch.events[k]!.type && isDeepStrictEqual(event!.data, batch.events[k]!.data)
      )
    if (whole) where.set(batch.key, { firstVersion: first, lastVersion: first + events.length - 1 })
    else violations.push(`batch ${batch.key} stored in part or changed: ${present.map((e) => `${e.id}@${e.version}`)}`)
  }
  const logIds = new Set<string>()
  snap.log.forEach((event, i) => {
    if (logIds.has(event.id)) violations.push(`global log: ${event.id} twice`)
    logIds.add(event.id)
    const previous = snap.log[i - 1]
    if (previous !== undefined && Position.Order(previous.position, event.position) >= 0) {
      violations.push(`global log: ${event.id} at ${Position.toString(event.position)} not after ${previous.id}`)
    }
  })
  for (const [streamId, events] of snap.streams) {
    const inLog = snap.log.filter((event) => event.streamId === streamId).map((e) => `${e.id}@${e.version}`)
    const inStream = events.map((e) => `${e.id}@${e.version}`)
    if (inLog.join() !== inStream.join()) {
      violations.push(
        `global log: stream ${streamId} has ${inLog.length} events there, ${inStream.length} in the stream; ` +
          `first difference at ${inLog.findIndex((id, i) => id !== inStream[i])}`
      )
    }
  }
  return { violations, where }
}

/** Answers the store contradicts: an acknowledgement of other versions or of nothing, a "not written" it holds. */
export const contradictions = (sent: ReadonlyArray<Sent>, where: ReadonlyMap<string, Stored>) =>
  sent.flatMap((request) => {
    const at = where.get(request.batch.key)
    const seen = `${request.what} to ${request.server}: ${request.status} ${request.body}`
    switch (request.outcome._tag) {
      case "Acknowledged":
        return at?.firstVersion === request.outcome.firstVersion && at.lastVersion === request.outcome.lastVersion
          ? []
          : [`acknowledged but stored at ${at === undefined ? "nothing" : stored(at)}: ${seen}`]
      case "NotWritten":
        return at === undefined ? [] : [`answered not written but stored at ${stored(at)}: ${seen}`]
      case "Uncertain":
        return []
      case "Unexpected":
        return [`an answer no outage explains: ${seen}`]
    }
  })

/**
 * Sends every batch again with the same ids, a few at a time: a batch the store holds must be answered with the
 * versions it holds it at, one it does not must be appended after the stream's end. Returns where each batch is
 * now by its answer, and what went wrong.
 */
export const resendAll = async (options: {
  readonly clock: () => number
  readonly servers: ReadonlyArray<string>
  readonly batches: ReadonlyArray<Batch>
  readonly before: Snapshot
  readonly where: ReadonlyMap<string, Stored>
  readonly giveUpMs: number
}) => {
  const violations: Array<string> = []
  const answered = new Map<string, Stored>()
  const queue = [...options.batches]
  const worker = async (n: number) => {
    for (let batch = queue.shift(); batch !== undefined; batch = queue.shift()) {
      const request = await send(options.clock, options.servers[n % options.servers.length]!, batch, options.giveUpMs)
      const seen = `again ${request.what}: ${request.status} ${request.body}`
      if (request.outcome._tag !== "Acknowledged") {
        violations.push(`not stored when sent again after recovery: ${seen}`)
        continue
      }
      const at = options.where.get(batch.key)
      const end = options.before.streams.get(batch.streamId)?.length ?? 0
      const ok = at === undefined
        ? request.outcome.firstVersion > end
        : at.firstVersion === request.outcome.firstVersion && at.lastVersion === request.outcome.lastVersion
      if (!ok) violations.push(`stored at ${at === undefined ? `nothing (end ${end})` : stored(at)}, ${seen}`)
      answered.set(batch.key, request.outcome)
    }
  }
  await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(worker))
  return { violations, answered }
}

/** The requests slower than `boundMs`, or never answered. */
export const overdue = (requests: ReadonlyArray<Timed>, boundMs: number) =>
  requests
    .filter((request) => request.status === undefined || request.durationMs > boundMs)
    .map(describe)

/** One request in a line: what, where, when, how long, what came back. */
export const describe = (request: Timed) =>
  `${request.what} to ${request.server} at ${request.startedAt} ms took ${request.durationMs} ms: ` +
  `${request.status ?? "no answer"} ${request.body.slice(0, 200)}`

/** How many requests got each answer: `503 AppendTimeout (maybe written)`, `200`… */
export const counts = (requests: ReadonlyArray<Timed>) => {
  const counted = new Map<string, number>()
  for (const request of requests) {
    const tag = request.status === undefined ? "no answer" : [
      request.status,
      /"_tag":"(\w+)"/.exec(request.body)?.[1],
      /"mayHaveCommitted":(true|false)/.exec(request.body)?.[1] === "false" ? "(not written)" : undefined
    ].filter((part) => part !== undefined).join(" ")
    counted.set(tag, (counted.get(tag) ?? 0) + 1)
  }
  return [...counted].map(([tag, n]) => `${n} × ${tag}`).join(", ")
}

/** The counts and the slowest requests, printed with a failure. */
export const summary = (requests: ReadonlyArray<Timed>) =>
  `${counts(requests)}; slowest:\n  ${
    [...requests].sort((a, b) => b.durationMs - a.durationMs).slice(0, 5).map(describe).join("\n  ")
  }`
