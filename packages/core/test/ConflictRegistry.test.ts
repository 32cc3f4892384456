import type { Event } from "@concord/core"
import { Conflict, ConflictRegistry } from "@concord/core"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Either, FastCheck as fc, Schema } from "effect"
import * as Doc from "./fixtures/Document.js"

const title = { type: "TitleChanged", data: { title: "t" } }
const edit = (section: string) => ({ type: "SectionEdited", data: { section, text: "x" } })
const comment = (section: string) => ({ type: "CommentAdded", data: { section, text: "x" } })
const deleted = { type: "DocumentDeleted", data: {} }
const foreign = { type: "LegacyImported", data: {} }
const everything = [title, edit("intro"), comment("intro"), deleted, foreign]

const conflictsWith = (
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  proposed: Event.EncodedEvent
) => everything.filter((committed) => ConflictRegistry.isConflict(registry, proposed, committed)).map((e) => e.type)

const empty = ConflictRegistry.make(Doc.DocumentEvent)

describe("ConflictRegistry", () => {
  describe("the default rule", () => {
    it("a type with no rule conflicts with every committed event, known or not", () => {
      expect(conflictsWith(empty, title)).toEqual(everything.map((e) => e.type))
    })

    it("a proposed type the registry does not know conflicts with everything", () => {
      const registry = empty.pipe(ConflictRegistry.never("TitleChanged"))
      expect(conflictsWith(registry, foreign)).toEqual(everything.map((e) => e.type))
    })

    it("always declares the default explicitly", () => {
      const registry = empty.pipe(ConflictRegistry.always("TitleChanged"))
      expect(conflictsWith(registry, title)).toEqual(conflictsWith(empty, title))
    })

    it("rules listed after always do not narrow it: the broader rule stays", () => {
      const registry = empty.pipe(
        ConflictRegistry.always("TitleChanged"),
        ConflictRegistry.conflicts("TitleChanged", ["DocumentDeleted"]),
        ConflictRegistry.conflictsWhen("TitleChanged", "TitleChanged", () => false),
        ConflictRegistry.mutual("SectionEdited", ["TitleChanged"])
      )
      expect(conflictsWith(registry, title)).toEqual(everything.map((e) => e.type))
      expect(registry.rules.get("TitleChanged")).toEqual({ _tag: "All" })
      expect(ConflictRegistry.toDocument(registry)).toMatchObject(
        Either.right({ rules: [{ type: "TitleChanged", conflictsWith: "all" }, { type: "SectionEdited" }] })
      )
    })

    it("never after always replaces it, as an explicit decision", () => {
      const registry = empty.pipe(ConflictRegistry.always("TitleChanged"), ConflictRegistry.never("TitleChanged"))
      expect(conflictsWith(registry, title)).toEqual([])
    })
  })

  describe("conflicts", () => {
    it("a listed type conflicts only with the committed types it lists, and with types the registry does not know", () => {
      const registry = empty.pipe(ConflictRegistry.conflicts("TitleChanged", ["TitleChanged", "DocumentDeleted"]))
      expect(conflictsWith(registry, title)).toEqual(["TitleChanged", "DocumentDeleted", "LegacyImported"])
    })

    it("only never lets a committed type the registry does not know pass, whatever the payload conditions", () => {
      const registry = empty.pipe(
        ConflictRegistry.conflictsWhen("SectionEdited", "SectionEdited", ConflictRegistry.sameKey("section")),
        ConflictRegistry.conflictsWhen("TitleChanged", "TitleChanged", () => false),
        ConflictRegistry.never("CommentAdded")
      )
      expect(conflictsWith(registry, edit("body"))).toEqual(["LegacyImported"])
      expect(conflictsWith(registry, title)).toEqual(["LegacyImported"])
      expect(conflictsWith(registry, comment("body"))).toEqual([])
    })

    it("rules are keyed by the proposed type: the reverse direction keeps the default", () => {
      const registry = empty.pipe(ConflictRegistry.conflicts("TitleChanged", ["DocumentDeleted"]))
      expect(conflictsWith(registry, deleted)).toEqual(everything.map((e) => e.type))
    })

    it("later lists for the same type add to earlier ones", () => {
      const registry = empty.pipe(
        ConflictRegistry.conflicts("TitleChanged", ["TitleChanged"]),
        ConflictRegistry.conflicts("TitleChanged", ["DocumentDeleted"])
      )
      expect(conflictsWith(registry, title)).toEqual(["TitleChanged", "DocumentDeleted", "LegacyImported"])
    })

    it("is data-first as well as data-last", () => {
      const registry = ConflictRegistry.conflicts(empty, "TitleChanged", ["DocumentDeleted"])
      expect(conflictsWith(registry, title)).toEqual(["DocumentDeleted", "LegacyImported"])
    })

    it("leaves the registry it builds on unchanged", () => {
      const registry = empty.pipe(ConflictRegistry.never("TitleChanged"))
      expect(registry).not.toBe(empty)
      expect(empty.rules.size).toBe(0)
      expect(conflictsWith(empty, title)).toHaveLength(everything.length)
    })
  })

  describe("never", () => {
    it("never conflicts, however far behind", () => {
      const registry = empty.pipe(ConflictRegistry.never("CommentAdded"))
      const behind = Array.from({ length: 1_000 }, (_, i) => ({ ...everything[i % everything.length]!, id: `e${i}` }))
      expect(behind.some((committed) => ConflictRegistry.isConflict(registry, comment("intro"), committed))).toBe(
        false
      )
    })

    it("replaces an earlier list for the same type", () => {
      const registry = empty.pipe(
        ConflictRegistry.conflicts("CommentAdded", ["DocumentDeleted"]),
        ConflictRegistry.never("CommentAdded")
      )
      expect(conflictsWith(registry, comment("intro"))).toEqual([])
    })
  })

  describe("payload rules", () => {
    it("sameKey conflicts only when the named field is equal", () => {
      const registry = empty.pipe(
        ConflictRegistry.conflictsWhen("SectionEdited", "SectionEdited", ConflictRegistry.sameKey("section"))
      )
      expect(ConflictRegistry.isConflict(registry, edit("intro"), edit("intro"))).toBe(true)
      expect(ConflictRegistry.isConflict(registry, edit("intro"), edit("body"))).toBe(false)
      expect(ConflictRegistry.isConflict(registry, edit("intro"), title)).toBe(false)
    })

    it("a predicate receives the two decoded, typed events", () => {
      const seen: Array<unknown> = []
      const registry = empty.pipe(
        ConflictRegistry.conflictsWhen("CommentAdded", "SectionEdited", (proposed, committed) => {
          expectTypeOf(proposed).toEqualTypeOf<typeof Doc.CommentAdded.Type>()
          expectTypeOf(committed).toEqualTypeOf<typeof Doc.SectionEdited.Type>()
          seen.push(proposed, committed)
          return proposed.section === committed.section
        })
      )
      expect(ConflictRegistry.isConflict(registry, comment("end"), edit("end"))).toBe(true)
      expect(ConflictRegistry.isConflict(registry, comment("end"), edit("intro"))).toBe(false)
      expect(seen[0]).toEqual({ _tag: "CommentAdded", section: "end", text: "x" })
    })

    it("a payload the domain Schema rejects counts as a conflict", () => {
      const registry = empty.pipe(ConflictRegistry.conflictsWhen("CommentAdded", "SectionEdited", () => false))
      expect(ConflictRegistry.isConflict(registry, comment("end"), { type: "SectionEdited", data: { section: 1 } }))
        .toBe(true)
      expect(ConflictRegistry.isConflict(registry, comment("end"), edit("end"))).toBe(false)
    })

    it("an untyped registry hands predicates the raw events", () => {
      const registry = ConflictRegistry.untyped().pipe(
        ConflictRegistry.conflictsWhen("A", "B", (proposed, committed) => (proposed as any).n === (committed as any).n)
      )
      expect(ConflictRegistry.isConflict(registry, { type: "A", data: { n: 1 } }, { type: "B", data: { n: 1 } }))
        .toBe(true)
      expect(ConflictRegistry.isConflict(registry, { type: "A", data: { n: 1 } }, { type: "B", data: { n: 2 } }))
        .toBe(false)
    })
  })

  describe("mutual", () => {
    it("declares the conflict in both directions", () => {
      const registry = empty.pipe(
        ConflictRegistry.never("TitleChanged"),
        ConflictRegistry.never("DocumentDeleted"),
        ConflictRegistry.mutual("TitleChanged", ["DocumentDeleted"])
      )
      expect(conflictsWith(registry, title)).toEqual(["DocumentDeleted", "LegacyImported"])
      expect(conflictsWith(registry, deleted)).toEqual(["TitleChanged", "LegacyImported"])
    })

    it("mutualWhen hands the condition the first type's event first in both directions", () => {
      const calls: Array<[string, string]> = []
      const registry = empty.pipe(
        ConflictRegistry.mutualWhen("CommentAdded", "SectionEdited", (comment, edit) => {
          calls.push([comment._tag, edit._tag])
          return comment.section === edit.section
        })
      )
      expect(ConflictRegistry.isConflict(registry, comment("intro"), edit("intro"))).toBe(true)
      expect(ConflictRegistry.isConflict(registry, edit("intro"), comment("body"))).toBe(false)
      expect(calls).toEqual([["CommentAdded", "SectionEdited"], ["CommentAdded", "SectionEdited"]])
    })
  })

  describe("committedTypesFor", () => {
    it("tells a database which known committed types may conflict and which it may leave unread", () => {
      const registry = empty.pipe(
        ConflictRegistry.conflicts("TitleChanged", ["TitleChanged"]),
        ConflictRegistry.conflictsWhen("SectionEdited", "SectionEdited", ConflictRegistry.sameKey("section")),
        ConflictRegistry.never("CommentAdded")
      )
      expect(ConflictRegistry.committedTypesFor(registry, "TitleChanged")).toEqual({
        _tag: "Listed",
        types: ["TitleChanged"],
        payload: false,
        ignored: ["SectionEdited", "CommentAdded", "DocumentDeleted"]
      })
      expect(ConflictRegistry.committedTypesFor(registry, "SectionEdited")).toEqual({
        _tag: "Listed",
        types: ["SectionEdited"],
        payload: true,
        ignored: ["TitleChanged", "CommentAdded", "DocumentDeleted"]
      })
      expect(ConflictRegistry.committedTypesFor(registry, "CommentAdded")).toEqual({
        _tag: "Listed",
        types: [],
        payload: false,
        ignored: ["TitleChanged", "SectionEdited", "CommentAdded", "DocumentDeleted"]
      })
      expect(ConflictRegistry.committedTypesFor(registry, "DocumentDeleted")).toEqual({ _tag: "All" })
      expect(ConflictRegistry.committedTypesFor(registry, "LegacyImported")).toEqual({ _tag: "All" })
    })

    it.prop(
      "a committed type it leaves unread never conflicts, and a type it does not name conflicts unless never",
      [Doc.registry, Doc.encodedEvents(), Doc.committedEvents()],
      ([registry, proposed, committed]) => {
        for (const p of proposed) {
          const answer = ConflictRegistry.committedTypesFor(registry, p.type)
          for (const c of committed) {
            const ignored = answer._tag === "Listed" && answer.ignored.includes(c.type)
            if (ignored) expect(ConflictRegistry.isConflict(registry, p, c)).toBe(false)
            const unnamed = answer._tag === "Listed" && !answer.ignored.includes(c.type) &&
              !answer.types.includes(c.type)
            if (unnamed) expect(ConflictRegistry.isConflict(registry, p, c)).toBe(answer.types.length > 0)
          }
        }
      }
    )
  })

  describe("types", () => {
    it("rejects unknown tags, predicates over the wrong payload and unknown sameKey fields", () => {
      // @ts-expect-error an unknown proposed tag
      empty.pipe(ConflictRegistry.conflicts("TitleRenamed", ["TitleChanged"]))
      // @ts-expect-error an unknown committed tag
      empty.pipe(ConflictRegistry.conflicts("TitleChanged", ["Deleted"]))
      // @ts-expect-error an unknown tag for never
      ConflictRegistry.never(empty, "Nope")
      empty.pipe(
        // @ts-expect-error a predicate over a payload of another type
        ConflictRegistry.conflictsWhen("TitleChanged", "TitleChanged", (p: typeof Doc.CommentAdded.Type) => !!p)
      )
      empty.pipe(
        // @ts-expect-error TitleChanged has no section field
        ConflictRegistry.conflictsWhen("TitleChanged", "SectionEdited", ConflictRegistry.sameKey("section"))
      )
      expect(empty.rules.size).toBe(0)
    })

    it("exhaustive compiles only when every tag has a rule", () => {
      const complete = empty.pipe(
        ConflictRegistry.never("CommentAdded"),
        ConflictRegistry.always("DocumentDeleted"),
        ConflictRegistry.mutual("TitleChanged", ["SectionEdited"]),
        ConflictRegistry.exhaustive
      )
      expectTypeOf(complete).toEqualTypeOf<
        ConflictRegistry.ConflictRegistry<
          Doc.DocumentEvent,
          "CommentAdded" | "DocumentDeleted" | "TitleChanged" | "SectionEdited"
        >
      >()
      const partial = empty.pipe(ConflictRegistry.never("CommentAdded"))
      // @ts-expect-error TitleChanged, SectionEdited and DocumentDeleted have no rule
      ConflictRegistry.exhaustive(partial)
      expect(complete.rules.size).toBe(4)
    })
  })

  describe("JSON", () => {
    const registry = empty.pipe(
      ConflictRegistry.conflicts("TitleChanged", ["TitleChanged", "DocumentDeleted"]),
      ConflictRegistry.never("CommentAdded"),
      ConflictRegistry.conflictsWhen("SectionEdited", "SectionEdited", ConflictRegistry.sameKey("section")),
      ConflictRegistry.always("DocumentDeleted")
    )
    const document = {
      rules: [
        { type: "TitleChanged", conflictsWith: ["TitleChanged", "DocumentDeleted"] },
        { type: "CommentAdded", conflictsWith: [] },
        { type: "SectionEdited", conflictsWith: [{ type: "SectionEdited", sameKey: "section" }] },
        { type: "DocumentDeleted", conflictsWith: "all" }
      ]
    }

    it("writes the documented form", () => {
      expect(ConflictRegistry.toDocument(registry)).toEqual(Either.right(document))
    })

    it("reads it back to a registry that decides the same", () => {
      const read = Either.getOrThrow(ConflictRegistry.fromDocument(document, Doc.DocumentEvent))
      for (const proposed of everything) {
        expect(conflictsWith(read, proposed)).toEqual(conflictsWith(registry, proposed))
      }
    })

    it.prop(
      "the document survives JSON.stringify and JSON.parse: fromDocument of it decides exactly as r",
      [Doc.registry, Doc.committedEvents(), Doc.encodedEvents()],
      ([registry, committed, proposed]) => {
        const text = JSON.stringify(Either.getOrThrow(ConflictRegistry.toDocument(registry)))
        const read = Either.getOrThrow(ConflictRegistry.fromDocument(JSON.parse(text), Doc.DocumentEvent))
        expect(Conflict.detect(read, committed, proposed)).toEqual(Conflict.detect(registry, committed, proposed))
        expect(JSON.stringify(Either.getOrThrow(ConflictRegistry.toDocument(read)))).toBe(text)
      }
    )

    it.prop(
      "JSON.stringify(registry) writes its debug form, which is not its document and is refused as one, saying so",
      [Doc.registry],
      ([registry]) => {
        const debug = JSON.parse(JSON.stringify(registry))
        expect(debug).toEqual(JSON.parse(JSON.stringify(registry.toJSON())))
        expect(debug._id).toBe("ConflictRegistry")
        expect(debug).not.toEqual(Either.getOrThrow(ConflictRegistry.toDocument(registry)))
        const typed = Either.flip(ConflictRegistry.fromDocument(debug, Doc.DocumentEvent)).pipe(Either.getOrThrow)
        const untyped = Either.flip(ConflictRegistry.fromDocument(debug)).pipe(Either.getOrThrow)
        for (const error of [typed, untyped]) {
          expect(error.issues).toEqual([{ path: [], message: expect.stringContaining("debug form") }])
          expect(error.message).toContain("write the document with ConflictRegistry.toDocument")
        }
      }
    )

    it("refuses to write predicate rules, naming them", () => {
      const withPredicate = registry.pipe(ConflictRegistry.conflictsWhen("CommentAdded", "TitleChanged", () => true))
      const error = Either.flip(ConflictRegistry.toDocument(withPredicate)).pipe(Either.getOrThrow)
      expect(error._tag).toBe("UnserializableRules")
      expect(error.pairs).toEqual([{ proposed: "CommentAdded", committed: "TitleChanged" }])
    })

    const invalid = (input: unknown) =>
      Either.flip(ConflictRegistry.fromDocument(input, Doc.DocumentEvent)).pipe(Either.getOrThrow)

    it.each(
      [
        ["not an object", 42, [], "Expected"],
        ["no rules", {}, ["rules"], "is missing"],
        [
          "an unknown proposed type",
          { rules: [{ type: "Renamed", conflictsWith: [] }] },
          ["rules", 0, "type"],
          "unknown event type \"Renamed\""
        ],
        ["an unknown committed type", { rules: [{ type: "TitleChanged", conflictsWith: ["TitleChanged", "Gone"] }] }, [
          "rules",
          0,
          "conflictsWith",
          1
        ], "unknown event type \"Gone\""],
        [
          "a duplicate rule",
          { rules: [{ type: "TitleChanged", conflictsWith: [] }, { type: "TitleChanged", conflictsWith: "all" }] },
          ["rules", 1, "type"],
          "a second rule for TitleChanged"
        ],
        [
          "a type listed twice",
          { rules: [{ type: "TitleChanged", conflictsWith: ["TitleChanged", "TitleChanged"] }] },
          ["rules", 0, "conflictsWith", 1],
          "listed twice"
        ],
        [
          "a sameKey field the events lack",
          { rules: [{ type: "SectionEdited", conflictsWith: [{ type: "SectionEdited", sameKey: "page" }] }] },
          ["rules", 0, "conflictsWith", 0, "sameKey"],
          "SectionEdited has no field page"
        ],
        [
          "a malformed list",
          { rules: [{ type: "TitleChanged", conflictsWith: 3 }] },
          ["rules", 0, "conflictsWith"],
          "Expected"
        ],
        ["an unexpected key", { rules: [{ type: "TitleChanged", conflictsWith: [], extra: true }] }, [
          "rules",
          0,
          "extra"
        ], "is unexpected"]
      ] as const
    )("rejects %s, naming the path", (_, input, path, message) => {
      const error = invalid(input)
      expect(error._tag).toBe("InvalidRegistryDocument")
      const issue = error.issues.find((issue) => JSON.stringify(issue.path) === JSON.stringify(path))
      expect(issue, `no issue at ${JSON.stringify(path)} in ${error.message}`).toBeDefined()
      expect(error.message).toContain(message)
    })

    it("an untyped document accepts any type names", () => {
      const read = Either.getOrThrow(ConflictRegistry.fromDocument({ rules: [{ type: "A", conflictsWith: ["B"] }] }))
      expect(ConflictRegistry.isConflict(read, { type: "A", data: {} }, { type: "B", data: {} })).toBe(true)
      expect(ConflictRegistry.isConflict(read, { type: "A", data: {} }, { type: "A", data: {} })).toBe(false)
      // C is named by no rule: the registry cannot reason about it.
      expect(ConflictRegistry.isConflict(read, { type: "A", data: {} }, { type: "C", data: {} })).toBe(true)
    })

    it.prop(
      "fromDocument(toDocument(r)) decides exactly as r, for registries read from documents and made with the builder",
      [Doc.registry, Doc.committedEvents(), Doc.encodedEvents()],
      ([registry, committed, proposed]) => {
        const document = Either.getOrThrow(ConflictRegistry.toDocument(registry))
        const read = Either.getOrThrow(ConflictRegistry.fromDocument(document, Doc.DocumentEvent))
        expect(Conflict.detect(read, committed, proposed)).toEqual(Conflict.detect(registry, committed, proposed))
        expect(ConflictRegistry.toDocument(read)).toEqual(Either.right(document))
      }
    )

    describe("errors", () => {
      const invalid = Either.flip(ConflictRegistry.fromDocument(42)).pipe(Either.getOrThrow)
      const unserializable = Either.flip(
        ConflictRegistry.toDocument(
          empty.pipe(ConflictRegistry.conflictsWhen("TitleChanged", "TitleChanged", () => true))
        )
      ).pipe(Either.getOrThrow)
      const lookalikes = [
        null,
        undefined,
        "InvalidRegistryDocument",
        { _tag: "InvalidRegistryDocument", issues: [] },
        { _tag: "UnserializableRules", pairs: [] },
        new Error("invalid conflict registry document"),
        empty
      ]

      it("each has a TypeId and a guard that tells it from the other and from look-alikes", () => {
        expect(invalid[ConflictRegistry.InvalidRegistryDocumentTypeId]).toBe(
          ConflictRegistry.InvalidRegistryDocumentTypeId
        )
        expect(unserializable[ConflictRegistry.UnserializableRulesTypeId]).toBe(
          ConflictRegistry.UnserializableRulesTypeId
        )
        // On the prototype, not an own property: the errors compare, print and encode as before.
        expect(Object.hasOwn(invalid, ConflictRegistry.InvalidRegistryDocumentTypeId)).toBe(false)
        expect(Object.hasOwn(unserializable, ConflictRegistry.UnserializableRulesTypeId)).toBe(false)
        expect(ConflictRegistry.isInvalidRegistryDocument(invalid)).toBe(true)
        expect(ConflictRegistry.isInvalidRegistryDocument(unserializable)).toBe(false)
        expect(ConflictRegistry.isUnserializableRules(unserializable)).toBe(true)
        expect(ConflictRegistry.isUnserializableRules(invalid)).toBe(false)
        expect(ConflictRegistry.isRegistryDocumentError(invalid)).toBe(true)
        expect(ConflictRegistry.isRegistryDocumentError(unserializable)).toBe(true)
        for (const u of lookalikes) {
          expect(ConflictRegistry.isInvalidRegistryDocument(u)).toBe(false)
          expect(ConflictRegistry.isUnserializableRules(u)).toBe(false)
          expect(ConflictRegistry.isRegistryDocumentError(u)).toBe(false)
        }
      })

      it("an error made from its fields or decoded from its encoded form is still recognised", () => {
        const made = new ConflictRegistry.InvalidRegistryDocument({ issues: invalid.issues })
        expect(ConflictRegistry.isInvalidRegistryDocument(made)).toBe(true)
        const roundTrip = <A extends ConflictRegistry.RegistryDocumentError, I>(
          schema: Schema.Schema<A, I>,
          error: A
        ) => Schema.decodeUnknownSync(schema)(JSON.parse(JSON.stringify(Schema.encodeSync(schema)(error))))
        const decodedInvalid = roundTrip(ConflictRegistry.InvalidRegistryDocument, invalid)
        const decodedPairs = roundTrip(ConflictRegistry.UnserializableRules, unserializable)
        expect(ConflictRegistry.isInvalidRegistryDocument(decodedInvalid)).toBe(true)
        expect(ConflictRegistry.isUnserializableRules(decodedPairs)).toBe(true)
        expect(decodedInvalid.message).toBe(invalid.message)
      })

      it("the guards narrow an unknown value to the error, and the union to its member", () => {
        const u: unknown = invalid
        if (ConflictRegistry.isRegistryDocumentError(u)) {
          expectTypeOf(u).toEqualTypeOf<ConflictRegistry.RegistryDocumentError>()
          if (ConflictRegistry.isInvalidRegistryDocument(u)) {
            expectTypeOf(u).toEqualTypeOf<ConflictRegistry.InvalidRegistryDocument>()
            expect(u.issues.length).toBeGreaterThan(0)
          } else expect.unreachable("an InvalidRegistryDocument")
        } else expect.unreachable("a RegistryDocumentError")
      })
    })

    it("reports what is wrong once, without the alternatives of a union that did not apply", () => {
      const error = invalid({ rules: [{ type: "TitleChanged", conflictsWith: ["TitleChanged", "Gone"] }] })
      expect(error.issues).toEqual([{
        path: ["rules", 0, "conflictsWith", 1],
        message: expect.stringContaining("unknown event type \"Gone\"")
      }])
    })

    it.prop(
      "a document with one type replaced by an unknown one is rejected at that path",
      [
        Doc.registryDocument.filter((d) => d.rules.length > 0),
        fc.nat(),
        fc.constantFrom("Renamed", "", "titlechanged")
      ],
      ([document, pick, unknown]) => {
        const rule = pick % document.rules.length
        const corrupted = {
          rules: document.rules.map((r, i) => i === rule ? { ...r, type: unknown } : r)
        }
        const error = invalid(corrupted)
        expect(error.issues.map((issue) => issue.path)).toContainEqual(["rules", rule, "type"])
      }
    )
  })
})
