import { Conflict, Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { ConcordClient, Registries } from "@concord/server"
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Either, Layer, Schema } from "effect"
import * as fs from "node:fs"
import { baseUrl, serviceAt } from "./support/service.js"

const registries = Either.getOrThrow(Registries.fromDocument(
  JSON.parse(fs.readFileSync(new URL("../../example-crm/registry.json", import.meta.url), "utf8"))
))

const postEvents = (url: string, body: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body)
    })
    return { status: response.status, body: await response.json() as Record<string, any> }
  })

const upgrade = (value: number, id?: string): Event.EventData => ({
  ...(id === undefined ? {} : { id: Event.EventId.make(id) }),
  type: "ClientValueUpgraded",
  data: { value },
  metadata: { by: "joe" }
})
const note = (text: string): Event.EventData => ({
  type: "MeetingNoteAdded",
  data: { noteId: text, author: "harry", text }
})

/** The same stale append three ways: the raw 409 body, the typed client's error and the store's own error. */
const conflictThreeWays = (
  url: string,
  streamId: StreamId.StreamId,
  expected: number,
  events: Array<Event.EventData>
) =>
  Effect.gen(function*() {
    const wire = yield* postEvents(`${url}/streams/${streamId}/events`, { expectedVersion: expected, events })
    const client = yield* Effect.flip(
      Effect.flatMap(
        EventStore.EventStore,
        (store) => store.append(streamId, ExpectedVersion.exact(expected), events)
      ).pipe(
        Effect.provide(ConcordClient.layerEventStore({ baseUrl: url }).pipe(Layer.provide(FetchHttpClient.layer)))
      )
    )
    const store = yield* EventStore.EventStore
    const direct = yield* Effect.flip(
      store.append(streamId, ExpectedVersion.exact(expected), events, { registry: registries.forStream(streamId) })
    )
    return { wire, client, direct }
  })

describe("the 409 body of a ConcurrencyConflict", () => {
  layer(serviceAt({ registries }))((it) => {
    it.effect("carries the committed events that clashed, and the client decodes the store's own error", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const streamId = StreamId.make("client-conflict-body")
        const store = yield* EventStore.EventStore
        yield* store.append(streamId, ExpectedVersion.noStream, [
          { type: "ClientRegistered", data: { name: "Acme", value: 100 } }
        ])
        // Harry adds a note, Joe upgrades the client; then a writer who read version 1 upgrades too.
        yield* store.append(streamId, ExpectedVersion.exact(1), [note("met"), upgrade(500, "joe-upgrade")])
        const { client, direct, wire } = yield* conflictThreeWays(url, streamId, 1, [note("later"), upgrade(700)])

        expect(wire.status).toBe(409)
        expect(wire.body).toMatchObject({
          _tag: "ConcurrencyConflict",
          conflicts: [{ proposedIndex: 1, committedId: "joe-upgrade", committedVersion: 3 }],
          committedEvents: [{
            id: "joe-upgrade",
            version: 3,
            type: "ClientValueUpgraded",
            data: { value: 500 },
            metadata: { by: "joe" }
          }],
          committedEventsTruncated: false
        })
        expect(Object.keys(wire.body.committedEvents[0]).sort()).toEqual(["data", "id", "metadata", "type", "version"])
        expect(Conflict.isConcurrencyConflict(client)).toBe(true)
        expect(client).toEqual(direct)
        expect(Schema.decodeUnknownSync(Conflict.ConcurrencyConflict)(wire.body)).toEqual(direct)
      }))

    it.effect("past the maximum: the first events by version and the flag, on the wire and decoded", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const streamId = StreamId.make("client-conflict-body-cut")
        const store = yield* EventStore.EventStore
        const max = Conflict.maxCommittedEvents
        yield* store.append(streamId, ExpectedVersion.noStream, [
          { type: "ClientRegistered", data: { name: "Busy", value: 1 } }
        ])
        yield* store.append(
          streamId,
          ExpectedVersion.exact(1),
          Array.from({ length: max + 5 }, (_, i) => upgrade(i + 2))
        )
        const { client, direct, wire } = yield* conflictThreeWays(url, streamId, 1, [upgrade(1_000)])

        expect(wire.status).toBe(409)
        expect(wire.body.committedEventsTruncated).toBe(true)
        expect(wire.body.committedEvents.map((event: { version: number }) => event.version))
          .toEqual(Array.from({ length: max }, (_, i) => i + 2))
        expect(wire.body.committedEvents[0].data).toEqual({ value: 2 })
        expect(client).toEqual(direct)
        expect((client as Conflict.ConcurrencyConflict).committedEvents).toHaveLength(max)
      }))
  })
})
