import { ConflictRegistry, StreamId } from "@concord/core"
import { Registry } from "@concord/example-crm"
import { Registries } from "@concord/server"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const document = Either.getOrThrow(ConflictRegistry.toDocument(Registry.registry))
const upgrade = { type: "ClientValueUpgraded", data: { value: 1 } }
const note = { type: "MeetingNoteAdded", data: { noteId: "n", author: "a", text: "t" } }

const write = (name: string, text: string): string => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "concord-registries-")), name)
  fs.writeFileSync(file, text)
  return file
}

describe("Registries", () => {
  it("fromDocument reads one document for every stream, or one per category with the strict default elsewhere", () => {
    const single = Either.getOrThrow(Registries.fromDocument(document))
    expect(single.categories).toEqual([])
    expect(ConflictRegistry.isConflict(single.forStream(StreamId.make("order-1")), upgrade, note)).toBe(false)

    const byCategory = Either.getOrThrow(Registries.fromDocument({ categories: { client: document } }))
    expect(byCategory.categories).toEqual(["client"])
    expect(ConflictRegistry.isConflict(byCategory.forStream(StreamId.make("client-1")), upgrade, note)).toBe(false)
    expect(ConflictRegistry.isConflict(byCategory.forStream(StreamId.make("order-1")), upgrade, note)).toBe(true)
  })

  it("a category's invalid document is an InvalidRegistryDocument with paths from the file's root", () => {
    const error = Either.flip(
      Registries.fromDocument({ categories: { client: { rules: [{ type: "A", conflictsWith: 3 }] } } })
    ).pipe(Either.getOrThrow)
    expect(ConflictRegistry.isInvalidRegistryDocument(error)).toBe(true)
    expect(error.issues.length).toBeGreaterThan(0)
    for (const issue of error.issues) expect(issue.path).toEqual(["categories", "client", "rules", 0, "conflictsWith"])
  })

  it("a registry's debug form written in place of its document is refused, saying so", () => {
    const debugForm = JSON.parse(JSON.stringify(Registry.registry))
    const error = Either.flip(Registries.fromDocument({ categories: { client: debugForm } })).pipe(Either.getOrThrow)
    expect(error.issues).toEqual([{ path: ["categories", "client"], message: expect.stringContaining("debug form") }])
  })

  it.effect("load reads a file, and a file it cannot use is an InvalidRegistryFile naming it, with its guard", () =>
    Effect.gen(function*() {
      const load = (file: string) => Registries.load(file).pipe(Effect.provide(NodeFileSystem.layer))
      const loaded = yield* load(write("rules.json", JSON.stringify({ categories: { client: document } })))
      expect(loaded.categories).toEqual(["client"])

      const files = [
        write("broken.json", "{ \"rules\": "),
        write("invalid.json", JSON.stringify({ rules: "all" })),
        path.join(os.tmpdir(), "concord-registries-missing", "rules.json")
      ]
      for (const file of files) {
        const error = yield* Effect.flip(load(file))
        expect(Registries.isInvalidRegistryFile(error)).toBe(true)
        expect(Object.hasOwn(error, Registries.InvalidRegistryFileTypeId)).toBe(false)
        expect(ConflictRegistry.isRegistryDocumentError(error)).toBe(false)
        expect(error.file).toBe(file)
        expect(error.message).toContain(file)
      }
      expect(Registries.isInvalidRegistryFile(new Error("x"))).toBe(false)
      expect(Registries.isInvalidRegistryFile({ _tag: "InvalidRegistryFile", file: "f", reason: "r" })).toBe(false)
    }))
})
