import { Conflict, ConflictRegistry, Event, EventStore } from "@concord/core"
import { Events } from "@concord/example-crm"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Commands from "../examples/commands.js"
import * as Concepts from "../examples/concepts.js"
import * as Document from "../examples/document.js"
import * as QuickStartSqlite from "../examples/quick-start-sqlite.js"
import * as QuickStart from "../examples/quick-start.js"
import * as Registry from "../examples/registry.js"
import * as Why from "../examples/why.js"
import { runExample, runTypeScript } from "./support/process.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-docs-"))

describe("why", () => {
  it.effect("plain optimistic concurrency refuses Joe because of Harry's note", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Why.plain)
      expect(error).toBeInstanceOf(Conflict.ConcurrencyConflict)
      expect(error.message).toContain(
        "ClientValueUpgraded (proposed #0) conflicts with MeetingNoteAdded (version 6)"
      )
    }))

  it.effect("the registry lets Joe's upgrade past Harry's note", () =>
    Effect.map(
      Why.concord,
      (append) => expect(append).toEqual({ streamId: "client-acme", firstVersion: 7, lastVersion: 7, rebasedOver: 1 })
    ))
})

describe("npm run demo", () => {
  it("plays the story the why page shows, on a fresh stream", async () => {
    const demo = fileURLToPath(new URL("../../packages/example-crm/src/main.ts", import.meta.url))
    const { code, stderr, stdout } = await runTypeScript(demo, [])
    expect(stderr).toBe("")
    expect(code).toBe(0)
    // Each run plays on a stream of its own, named after the time it starts: the page shows it as <id>.
    const ids = new Set([...stdout.matchAll(/client-acme-([0-9a-z]+)\b/g)].map((match) => match[1]!))
    expect(ids.size).toBe(1)
    const shown = stdout.replaceAll(`client-acme-${[...ids][0]}`, "client-acme-<id>")
    await expect(shown).toMatchFileSnapshot("../examples/output/demo.txt")
  }, 60_000)
})

describe("quick start", () => {
  it.effect("Joe's stale upgrade is appended past Harry's note, in memory", () =>
    Effect.map(
      QuickStart.main,
      (append) => expect(append).toEqual({ streamId: "client-acme", firstVersion: 3, lastVersion: 3, rebasedOver: 1 })
    ))

  it.effect("the same program runs on a SQLite file", () =>
    Effect.map(
      QuickStartSqlite.onSqlite(path.join(directory, "quick-start.db")),
      (append) => expect(append).toMatchObject({ firstVersion: 3, rebasedOver: 1 })
    ))

  it("runs as a program and prints the append result", async () => {
    const { code, stdout } = await runExample("quick-start-run.ts")
    expect(code).toBe(0)
    // The output the quick-start page shows.
    expect(stdout).toBe("{\n  streamId: 'client-acme',\n  firstVersion: 3,\n  lastVersion: 3,\n  rebasedOver: 1\n}\n")
    await expect(stdout).toMatchFileSnapshot("../examples/output/quick-start-run.txt")
  }, 60_000)
})

describe("concepts", () => {
  it("stream ids and categories", async () => {
    expect(Concepts.category).toBe("client")
    expect(await Effect.runPromise(Concepts.fromInput("client-42"))).toBe("client-42")
    for (const invalid of ["", "client-\u0000", "client-\uD800", "c".repeat(513)]) {
      expect(Either.isLeft(await Effect.runPromise(Effect.either(Concepts.fromInput(invalid)))), invalid).toBe(true)
    }
  })

  it.effect("a domain event is encoded as a type and data", () =>
    Effect.map(
      Concepts.encoded,
      (encoded) => expect(encoded).toEqual({ type: "ClientValueUpgraded", data: { value: 500 } })
    ))

  it.effect("noStream, exact, any, and a version the stream has not reached", () =>
    Effect.map(Concepts.expectedVersions, ({ ahead, created, next, unchecked }) => {
      expect(created).toMatchObject({ firstVersion: 1, lastVersion: 1, rebasedOver: 0 })
      expect(next).toMatchObject({ firstVersion: 2, lastVersion: 2, rebasedOver: 0 })
      expect(unchecked).toMatchObject({ firstVersion: 3, lastVersion: 3, rebasedOver: 0 })
      expect(ahead).toMatchObject({ _tag: "WrongExpectedVersion", expectedVersion: 9, actualVersion: 3 })
    }))

  it.effect("without rules a stale append conflicts; with a rule it is rebased", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Concepts.withoutRules)
      expect(error._tag).toBe("ConcurrencyConflict")
      expect(error.message).toContain("MeetingNoteAdded (proposed #0) conflicts with ClientValueUpgraded (version 2)")
      expect(yield* Concepts.withRules).toMatchObject({ firstVersion: 3, lastVersion: 3, rebasedOver: 1 })
      const unknown = yield* Effect.flip(Concepts.withUntypedRules)
      expect(unknown.message).toContain("MeetingNoteAdded (proposed #0) conflicts with ClientValueUpgraded (version 2)")
    }))

  it.effect("a conflict names every clashing pair", () =>
    Effect.map(Concepts.conflict, (pairs) => expect(pairs).toEqual(["#1 ClientValueUpgraded x ClientValueUpgraded"])))

  it.effect("re-sending a batch returns the original result", () =>
    Effect.map(Concepts.resent, ({ again, first, version }) => {
      expect(first).toMatchObject({ firstVersion: 1, lastVersion: 1, rebasedOver: 0 })
      expect(again).toEqual(first)
      expect(version).toBe(1)
    }))
})

describe("the registry", () => {
  it("checks pairs and whole appends", () => {
    expect(Registry.sameContact).toBe(true)
    expect(Registry.otherContact).toBe(false)
    expect(Registry.pairs).toMatchObject([
      {
        proposedIndex: 0,
        proposedType: "ContactEmailChanged",
        committedVersion: 1,
        committedType: "ContactEmailChanged"
      }
    ])
  })

  it("the compile-time mistakes build registries that are never used", () => {
    expect(Registry.mistakes.rules.size).toBe(2)
    expect((Registry.unfinished as ConflictRegistry.ConflictRegistry<any, any>).rules.size).toBe(1)
  })

  it("the CRM registry's JSON document, as the docs show it", async () => {
    const document = Either.getOrThrow(Registry.document)
    // One rule per line, as the page shows it.
    const inline = (value: unknown) =>
      JSON.stringify(value).replace(/":/g, "\": ").replace(/,(?=["{[])/g, ", ").replace(/\{"/g, "{ \"").replace(
        /(["\]])\}/g,
        "$1 }"
      )
    const shown = `{\n  "rules": [\n${document.rules.map((rule) => `    ${inline(rule)}`).join(",\n")}\n  ]\n}\n`
    expect(JSON.parse(shown)).toEqual(document)
    await expect(shown).toMatchFileSnapshot("../examples/output/registry.json")
    const roundTrip = Either.getOrThrow(Registry.roundTrip)
    expect(roundTrip.rules).toEqual(Registry.registry.rules)
    expect(JSON.parse(Either.getOrThrow(Registry.file))).toEqual(document)
  })

  it("the registry's own JSON is its debug form, which is refused as a document, saying so", () => {
    expect(JSON.parse(JSON.stringify(Registry.registry))).toMatchObject({ _id: "ConflictRegistry" })
    const error = Either.flip(Registry.debugForm).pipe(Either.getOrThrow)
    expect(error.issues).toEqual([{ path: [], message: expect.stringContaining("debug form") }])
    expect(error.message).toContain("ConflictRegistry.toDocument")
  })

  it("an invalid document is refused with every issue and its path", async () => {
    const error = Either.flip(Registry.invalid).pipe(Either.getOrThrow)
    expect(error._tag).toBe("InvalidRegistryDocument")
    await expect(error.message).toMatchFileSnapshot("../examples/output/invalid-registry.txt")
  })

  it("one append or one command can bring its own registry", async () => {
    const { handled, passes, refused } = await Registry.runOverride()
    expect(refused._tag).toBe("ConcurrencyConflict")
    expect(passes).toMatchObject({ firstVersion: 3, lastVersion: 3, rebasedOver: 1 })
    expect(handled._tag).toBe("ConcurrencyConflict")
  })
})

describe("the document domain's payload rules", () => {
  const encode = (event: Document.DocumentEvent) => Effect.runSync(Event.encode(Document.DocumentEvent)(event))
  const conflicts = (proposed: Document.DocumentEvent, committed: Document.DocumentEvent) =>
    ConflictRegistry.isConflict(Document.registry, encode(proposed), encode(committed))
  const edit = (section: string, text: string) => Document.SectionEdited.make({ section, text })
  const removed = (section: string) => Document.SectionRemoved.make({ section })

  it("an edit and a removal of the same section clash in both directions", () => {
    expect(conflicts(edit("intro", "a"), removed("intro"))).toBe(true)
    expect(conflicts(removed("intro"), edit("intro", "a"))).toBe(true)
    expect(conflicts(edit("intro", "a"), removed("body"))).toBe(false)
  })

  it("two edits of a section clash unless they wrote the same text", () => {
    expect(conflicts(edit("intro", "a"), edit("intro", "b"))).toBe(true)
    expect(conflicts(edit("intro", "a"), edit("intro", "a"))).toBe(false)
    expect(conflicts(edit("intro", "a"), edit("body", "b"))).toBe(false)
  })

  it("comments clash only with the removal of their section, views with nothing", () => {
    const comment = Document.CommentAdded.make({ section: "intro", text: "?" })
    expect(conflicts(comment, removed("intro"))).toBe(true)
    expect(conflicts(comment, removed("body"))).toBe(false)
    expect(conflicts(comment, edit("intro", "a"))).toBe(false)
    expect(conflicts(Document.DocumentViewed.make({ by: "joe" }), removed("intro"))).toBe(false)
  })

  it("a predicate rule has no JSON form", () => {
    const error = Either.flip(Document.document).pipe(Either.getOrThrow)
    expect(error.message).toBe("predicate rules have no JSON form: SectionEdited -> SectionEdited")
  })
})

describe("command handling", () => {
  it("load folds the stream into a state at its version", async () => {
    const loaded = Either.getOrThrow(await Commands.run(Commands.load))
    expect(loaded.version).toBe(7)
    expect(loaded.state).toMatchObject({ status: "active", value: 500 })
  })

  it("without an expected version the command is decided on the current state", async () => {
    const result = Either.getOrThrow(await Commands.run(Commands.current))
    expect(result.events).toEqual([Events.ClientValueDowngraded.make({ value: 120 })])
    expect(result.append).toMatchObject({ firstVersion: 8, rebasedOver: 0 })
    expect(result.attempts).toBe(1)
  })

  it("without a retry Sally's stale downgrade fails with the conflict", async () => {
    const error = Either.flip(await Commands.run(Commands.noRetry)).pipe(Either.getOrThrow)
    expect(error._tag).toBe("ConcurrencyConflict")
    expect(error.message).toContain(
      "ClientValueDowngraded (proposed #0) conflicts with ClientValueUpgraded (version 7)"
    )
  })

  it("with a retry it is decided again on the fresh state and appended", async () => {
    const result = Either.getOrThrow(await Commands.run(Commands.retried))
    expect(result.events).toEqual([Events.ClientValueDowngraded.make({ value: 120 })])
    expect(result.append).toMatchObject({ firstVersion: 8, lastVersion: 8, rebasedOver: 0 })
    expect(result.attempts).toBe(2)
    // In all, the command went past Harry's note and Joe's upgrade, both committed after version 5.
    expect(result.rebasedOver).toBe(2)
    expect(result.state.value).toBe(120)
  })

  it("a retry whose fresh decision fails ends with the domain error and appends nothing", async () => {
    const outcome = await Commands.run(
      Effect.zip(
        Effect.flip(Commands.refusedOnRetry),
        Effect.flatMap(EventStore.EventStore, (store) => store.version(Commands.client))
      )
    )
    const [error, version] = Either.getOrThrow(outcome)
    expect(error).toMatchObject({ _tag: "InvalidValueChange", current: 500, requested: 300 })
    expect(version).toBe(7)
  })
})
