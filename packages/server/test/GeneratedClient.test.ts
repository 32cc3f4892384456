import { describe, expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as fs from "node:fs"
import createClient from "openapi-fetch"
import openapiTS, { astToString, COMMENT_HEADER, UNKNOWN } from "openapi-typescript"
import type { components, paths } from "./generated/concord.js"
import { compileDocument, crmRegistries, fetchDocument, type Json } from "./support/openApi.js"
import { baseUrl, serviceAt } from "./support/service.js"

// The types a client in another code base would generate from the served document, committed: the test fails when
// the document changes without them. `CONCORD_UPDATE_GENERATED=1` rewrites the file instead of comparing.
const generatedFile = new URL("./generated/concord.ts", import.meta.url)
const token = "generated-client-token-0123"

const generate = (document: Json) =>
  Effect.promise(async () => {
    const ast = await openapiTS(structuredClone(document) as never, {
      alphabetize: true,
      // TypeScript cannot type the recursive JSON union (an indexed access type referring to itself through an array
      // is TS2502): event data and metadata values are `unknown` to the client, as they are to `fetch`.
      transform: (_, { path }) => path === "#/components/schemas/JsonValue" ? UNKNOWN : undefined
    })
    // Kept as the generator writes it, so the linter's formatting stays off it.
    return `/* eslint-disable */\n${COMMENT_HEADER}// Generated from the service's /docs/openapi.json (with a token) by test/GeneratedClient.test.ts.\n\n${
      astToString(ast)
    }`
  })

/** An event as the generated types have it. */
type EventData = components["schemas"]["EventData"]

/** The CRM's client story: registered, an email, a note, an upgrade, another email. */
const acmeHistory: ReadonlyArray<EventData> = [
  { type: "ClientRegistered", data: { name: "Acme", value: 100 } },
  { type: "ContactEmailChanged", data: { contactId: "alice", email: "alice@acme.test" } },
  { type: "MeetingNoteAdded", data: { noteId: "n0", author: "joe", text: "first call" } },
  { type: "ClientValueUpgraded", data: { value: 150 } },
  { type: "ContactEmailChanged", data: { contactId: "bob", email: "bob@acme.test" } }
]

describe("a client generated from the document by openapi-typescript", () => {
  layer(serviceAt({ registries: crmRegistries, token: Redacted.make(token) }))(
    "against the service with the CRM's registry",
    (it) => {
      it.effect("has the committed types: the document has not drifted from them", () =>
        Effect.gen(function*() {
          const generated = yield* generate(yield* fetchDocument(yield* baseUrl, token))
          if (process.env.CONCORD_UPDATE_GENERATED === "1") fs.writeFileSync(generatedFile, generated)
          expect(generated).toBe(fs.readFileSync(generatedFile, "utf8"))
        }))

      it.effect("plays Joe & Harry through openapi-fetch: the stale upgrade goes after the note, a real clash is a 409", () =>
        Effect.gen(function*() {
          const url = yield* baseUrl
          const document = yield* fetchDocument(url, token)
          const { compile } = compileDocument(document)
          const client = createClient<paths>({ baseUrl: url, headers: { authorization: `Bearer ${token}` } })
          const streamId = "client-acme-generated"
          const params = { path: { streamId } }
          const append = (expectedVersion: number | "noStream", events: ReadonlyArray<EventData>) =>
            Effect.promise(() =>
              client.POST("/streams/{streamId}/events", { params, body: { expectedVersion, events: [...events] } })
            )

          const history = yield* append("noStream", acmeHistory)
          expect(history.data).toMatchObject({ firstVersion: 1, lastVersion: 5, rebasedOver: 0 })
          // Joe and Harry both open the record at version 5.
          const opened = yield* Effect.promise(() => client.GET("/streams/{streamId}", { params }))
          expect(opened.data).toEqual({ streamId, version: 5 })

          const harry = yield* append(5, [{
            type: "MeetingNoteAdded",
            data: { noteId: "n1", author: "harry", text: "asked for a discount" }
          }])
          expect(harry.data).toMatchObject({ firstVersion: 6, lastVersion: 6, rebasedOver: 0 })
          const joe = yield* append(5, [{ type: "ClientValueUpgraded", data: { value: 500 } }])
          expect(joe.data).toMatchObject({ firstVersion: 7, lastVersion: 7, rebasedOver: 1 })

          // Sally, also at version 5, downgrades and upgrades: each clashes with Joe's upgrade.
          const sally = yield* append(5, [
            { type: "ClientValueDowngraded", data: { value: 50 } },
            { type: "ClientValueUpgraded", data: { value: 900 } }
          ])
          expect(sally.response.status).toBe(409)
          const conflict = sally.error!
          expect(
            compile(
              document.paths["/streams/{streamId}/events"].post.responses["409"].content["application/json"]
                .schema
            )(conflict)
          ).toBe(true)
          if (conflict._tag !== "ConcurrencyConflict") {
            throw new Error(`expected a ConcurrencyConflict, got ${conflict._tag}`)
          }
          expect(conflict).toMatchObject({ streamId, expectedVersion: 5, actualVersion: 7 })
          expect(conflict.conflicts.map((pair) => [pair.proposedIndex, pair.proposedType, pair.committedVersion]))
            .toEqual(
              [[0, "ClientValueDowngraded", 7], [1, "ClientValueUpgraded", 7]]
            )

          // Nothing of Sally's was written; the page reads back as the generated types say.
          const read = yield* Effect.promise(() =>
            client.GET("/streams/{streamId}/events", { params: { ...params, query: { from: 6, limit: 10 } } })
          )
          expect(read.data!.events.map((event) => [event.version, event.type, event.data])).toEqual([
            [6, "MeetingNoteAdded", { noteId: "n1", author: "harry", text: "asked for a discount" }],
            [7, "ClientValueUpgraded", { value: 500 }]
          ])
          expect(read.data!.events.every((event) => !Number.isNaN(Date.parse(event.recordedAt)))).toBe(true)
          const log = yield* Effect.promise(() => client.GET("/events", { params: { query: { limit: 100 } } }))
          expect(log.data!.events.filter((event) => event.streamId === streamId)).toHaveLength(7)
        }))

      it.effect("reads the documented refusals as typed errors", () =>
        Effect.gen(function*() {
          const url = yield* baseUrl
          const anonymous = createClient<paths>({ baseUrl: url })
          const refused = yield* Effect.promise(() => anonymous.GET("/health"))
          expect(refused.response.status).toBe(401)
          expect(refused.error).toEqual({ _tag: "Unauthorized", message: expect.any(String) })
          const client = createClient<paths>({ baseUrl: url, headers: { authorization: `Bearer ${token}` } })
          const invalid = yield* Effect.promise(() =>
            client.GET("/streams/{streamId}/events", { params: { path: { streamId: "a" }, query: { limit: 10_001 } } })
          )
          expect(invalid.response.status).toBe(400)
          expect(invalid.error?._tag).toBe("HttpApiDecodeError")
        }))
    }
  )
})
