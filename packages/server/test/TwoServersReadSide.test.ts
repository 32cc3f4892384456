// Two `concord serve` processes over one PostgreSQL database: writers on both, subscribers on both (from the start,
// midway, filtered, and resuming on the other process with Last-Event-ID), each delivery audited against GET /events,
// which both processes answer alike: one log, ordered by transaction, positions "<commit>.<sequence>".
import type { Event } from "@concord/core"
import { EventStore, Position } from "@concord/core"
import { Postgres } from "@concord/test-postgres"
import { Checker } from "@concord/testing"
import { describe, expect, inject, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as path from "node:path"
import { appendAny, readLog } from "./support/http.js"
import { type Running, startServer } from "./support/server.js"
import { follow, readUntil, toEvent } from "./support/sse.js"
import { subscribe } from "./support/subscriber.js"
import { postgresSuites } from "./support/suites.js"

const pgUrl = inject("pgUrl")

/** A database of its own in the suite's cluster, so that no other suite's events are in the log. */
const freshDatabase = (url: string) => {
  const name = `read_side_${Date.now()}`
  execFileSync(path.join(Postgres.binaries()!, "psql"), [url, "-c", `CREATE DATABASE ${name}`], { stdio: "pipe" })
  const database = new URL(url)
  database.pathname = `/${name}`
  return database.toString()
}

const streams = ["loada-1", "loada-2", "loadb-1", "loadb-2", "loadc-1"]
const filter = { types: ["Bumped"], categories: ["loada", "loadc"] }
const filterQuery = "types=Bumped&categories=loada,loadc"

/**
 * Writers spread over the servers, each appending `appendsEach` batches of 1 to 3 events to shared streams. An append
 * answered 503 (a lock held too long on a busy machine) is of unknown outcome: its events may or may not be in the log.
 */
const write = async (servers: ReadonlyArray<Running>, writers: number, appendsEach: number) => {
  const acknowledged: Array<string> = []
  const unknown: Array<string> = []
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    const url = servers[w % servers.length]!.url
    for (let i = 0; i < appendsEach; i++) {
      const events = Array.from({ length: 1 + ((w + i) % 3) }, (_, k) => ({
        id: `w${w}-${i}-${k}`,
        type: (w + i + k) % 2 === 0 ? "Bumped" : "Noted",
        data: { w, i, k }
      }))
      const response = await fetch(`${url}/streams/${streams[(w * 7 + i) % streams.length]}/events`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ expectedVersion: "any", events })
      })
      const text = await response.text()
      if (response.status === 503) unknown.push(...events.map((e) => e.id))
      else if (response.status === 200) acknowledged.push(...events.map((e) => e.id))
      else throw new Error(`append: ${response.status} ${text}`)
    }
  }))
  return { acknowledged, unknown }
}

/** The last event of `log` after `after` that `matching` keeps. */
const lastOf = (log: ReadonlyArray<Event.RecordedEvent>, matching?: EventStore.Filter, after?: Position.Position) =>
  log.filter((e) => (after === undefined || Position.isAfter(e.position, after)) && EventStore.matches(e, matching))
    .at(-1)!.position

describe.skipIf(pgUrl === undefined)(postgresSuites.twoServersReadSide, () => {
  it("subscribers on both processes, 24 writers on both: each gets the one log, once, in order, in full", async () => {
    const database = freshDatabase(pgUrl!)
    const servers = await Promise.all([0, 1].map(() => startServer(["--postgres", database])))
    const [a, b] = servers as [Running, Running]
    const closers: Array<() => void> = []
    try {
      await appendAny(a.url, "loadseed-1", Array.from({ length: 6 }, (_, i) => ({ type: "Seeded", data: { i } })))
      const seeded = await readLog(b.url)
      const midway = seeded.at(-3)!.position
      const subscribers = servers.flatMap((server, s) => {
        const on = `on ${s === 0 ? "A" : "B"}`
        return [
          { label: `from the start ${on}`, subscriber: subscribe(`${server.url}/events/subscribe`) },
          {
            label: `midway ${on}`,
            subscriber: subscribe(`${server.url}/events/subscribe?after=${Position.toString(midway)}`),
            after: midway
          },
          { label: `filtered ${on}`, subscriber: subscribe(`${server.url}/events/subscribe?${filterQuery}`), filter }
        ]
      })
      for (const { subscriber } of subscribers) closers.push(subscriber.leave)
      // A browser's EventSource on each, too.
      const eventSources = servers.map((server) => follow(`${server.url}/events/subscribe`))
      for (const source of eventSources) closers.push(source.close)
      // Plain readers that leave after 15 events and resume on the other process with Last-Event-ID.
      const firstRuns = servers.map((server) =>
        readUntil(`${server.url}/events/subscribe`, (messages) => messages.filter((m) => m.data).length >= 15)
      )

      const { acknowledged, unknown } = await write(servers, 24, 8)
      expect(unknown.length, "appends answered 503").toBeLessThan(acknowledged.length / 10)

      const log = await readLog(a.url)
      // Both processes read the same log: the same events, in the same order, at the same positions.
      const fromB = await readLog(b.url)
      expect(fromB.map((e) => [e.id, Position.toString(e.position)])).toEqual(
        log.map((e) => [e.id, Position.toString(e.position)])
      )
      // Every acknowledged event is in it, and nothing that was not sent.
      const logged = new Set(log.map((e) => e.id as string))
      expect(acknowledged.filter((id) => !logged.has(id))).toEqual([])
      const sent = new Set([...acknowledged, ...unknown, ...seeded.map((e) => e.id as string)])
      expect(log.filter((e) => !sent.has(e.id))).toEqual([])
      // Positions are a transaction's and the event's place in it, in the order of the transactions.
      for (const event of log) expect(Position.toString(event.position)).toMatch(/^[1-9][0-9]*\.[0-9]+$/)
      Checker.assertLog({
        log,
        streams: new Map(streams.map((id) => [id, log.filter((e) => e.streamId === id)]))
      })

      const last = lastOf(log)
      const resumed = await Promise.all(firstRuns.map(async (firstRun, s) => {
        const first = (await firstRun).messages.filter((m) => m.data)
        const other = servers[1 - s]!
        const second = await readUntil(
          `${other.url}/events/subscribe`,
          (messages) => messages.some((m) => m.id === Position.toString(last)),
          { "last-event-id": first.at(-1)!.id! }
        )
        return [...first, ...second.messages.filter((m) => m.data)].map((m) => toEvent(m.data!))
      }))
      await Promise.all([
        ...subscribers.map(({ filter, subscriber }) => subscriber.reached(lastOf(log, filter))),
        ...eventSources.map((source) => source.reached(Position.toString(last)))
      ])

      for (const { after, filter, label, subscriber } of subscribers) {
        Checker.assertSubscription({ delivered: subscriber.events(), log, after, filter }, label)
      }
      for (const [s, source] of eventSources.entries()) {
        Checker.assertSubscription({ delivered: source.events(), log }, `the EventSource on ${s === 0 ? "A" : "B"}`)
        // The message ids are the positions.
        expect(source.ids).toEqual(source.events().map((e) => Position.toString(e.position)))
      }
      for (const [s, delivered] of resumed.entries()) {
        Checker.assertSubscription({ delivered, log }, `the reader that moved from ${s === 0 ? "A to B" : "B to A"}`)
      }
      // Whichever process a subscriber follows, it gets the same order.
      const order = (events: ReadonlyArray<Event.RecordedEvent>) => events.map((e) => e.id)
      expect(order(subscribers[0]!.subscriber.events())).toEqual(order(log))
      expect(order(subscribers[3]!.subscriber.events())).toEqual(order(log))
      expect(subscribers[2]!.subscriber.events().length).toBeGreaterThan(0)

      for (const source of eventSources) source.close()
      for (const { subscriber } of subscribers) subscriber.leave()
      expect(await Promise.all(servers.map((server) => server.stop()))).toEqual([0, 0])
    } finally {
      for (const close of closers) close()
      for (const server of servers) if (!server.stopping()) await server.stop()
    }
  }, 60_000)
})
