import { ConflictRegistry } from "@concord/core"
import { Registry } from "@concord/example-crm"
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as fs from "node:fs"

describe("registry.json", () => {
  it("is the CRM registry's JSON document, for the client category: the service uses the rules the laws checked", () => {
    const file = JSON.parse(fs.readFileSync(new URL("../registry.json", import.meta.url), "utf8"))
    expect(file).toEqual({ categories: { client: Either.getOrThrow(ConflictRegistry.toDocument(Registry.registry)) } })
  })
})
