// A "__proto__" key is an own property in JSON (JSON.parse makes it one), and the service keeps it as such in data and
// metadata alike: stored, read back and sent as it came.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { baseUrl, serviceAt } from "./support/service.js"

const service = serviceAt()

describe("__proto__ keys over HTTP", () => {
  layer(service)((it) => {
    it.effect("in data and in metadata are stored and read back as own keys", () =>
      Effect.gen(function*() {
        const url = `${yield* baseUrl}/streams/proto-1/events`
        // Written by hand: JSON.stringify of an object literal would not carry a __proto__ key.
        const body = `{"expectedVersion":0,"events":[{"type":"Noted","data":{"__proto__":{"d":1}},` +
          `"metadata":{"__proto__":{"m":1},"by":"joe"}}]}`
        const posted = yield* Effect.promise(() =>
          fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body })
        )
        expect(posted.status).toBe(200)
        const text = yield* Effect.promise(() => fetch(url).then((response) => response.text()))
        expect(text).toContain(`"data":{"__proto__":{"d":1}}`)
        expect(text).toContain(`"metadata":{"__proto__":{"m":1},"by":"joe"}`)
      }))
  })
})
