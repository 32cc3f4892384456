/**
 * The service's conflict rules: one registry for every stream, or one per stream category (the part of the id
 * before the first `-`) with the strict default for the categories it does not name. Read from a JSON file in the
 * registry's document format and validated when the service starts.
 *
 * @since 0.1.0
 */
import { ConflictRegistry, StreamId } from "@concord/core"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category models
 */
export interface Registries {
  readonly forStream: (streamId: StreamId.StreamId) => ConflictRegistry.ConflictRegistry<any, any>
  /** The categories with rules of their own; empty when one registry serves every stream. */
  readonly categories: ReadonlyArray<string>
}

/**
 * Plain optimistic concurrency for every stream: every stale append conflicts.
 *
 * @since 0.1.0
 * @category constructors
 */
export const strict: Registries = { forStream: () => ConflictRegistry.untyped(), categories: [] }

/**
 * One registry for every stream.
 *
 * @since 0.1.0
 * @category constructors
 */
export const single = (registry: ConflictRegistry.ConflictRegistry<any, any>): Registries => ({
  forStream: () => registry,
  categories: []
})

/**
 * One registry per category; other categories get the strict default.
 *
 * @since 0.1.0
 * @category constructors
 */
export const byCategory = (
  registries: Readonly<Record<string, ConflictRegistry.ConflictRegistry<any, any>>>
): Registries => {
  const known = new Map(Object.entries(registries))
  const fallback = ConflictRegistry.untyped()
  return {
    forStream: (streamId) => known.get(StreamId.category(streamId)) ?? fallback,
    categories: Array.from(known.keys())
  }
}

/**
 * @since 0.1.0
 * @category type ids
 */
export const InvalidRegistryFileTypeId: unique symbol = Symbol.for("@concord/server/Registries/InvalidRegistryFile")

/**
 * @since 0.1.0
 * @category type ids
 */
export type InvalidRegistryFileTypeId = typeof InvalidRegistryFileTypeId

/**
 * A registry file that cannot be used: the file, and what is wrong where.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRegistryFile extends Schema.TaggedError<InvalidRegistryFile>()("InvalidRegistryFile", {
  file: Schema.String,
  reason: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  declare readonly [InvalidRegistryFileTypeId]: InvalidRegistryFileTypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `the registry file ${this.file} cannot be used: ${this.reason}`
  }
}

// On the prototype, not an own property: instances compare, print and encode as before.
Object.defineProperty(InvalidRegistryFile.prototype, InvalidRegistryFileTypeId, { value: InvalidRegistryFileTypeId })

/**
 * Whether a value is an instance of {@link InvalidRegistryFile}, found by its type id, never a plain object that
 * merely has the same `_tag`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isInvalidRegistryFile = (u: unknown): u is InvalidRegistryFile =>
  Predicate.hasProperty(u, InvalidRegistryFileTypeId)

const prefixed = (error: ConflictRegistry.InvalidRegistryDocument, prefix: ReadonlyArray<string | number>) =>
  new ConflictRegistry.InvalidRegistryDocument({
    issues: error.issues.map((issue) => ({ ...issue, path: [...prefix, ...issue.path] }))
  })

/**
 * Reads a registry document (`{ "rules": [...] }`, as `ConflictRegistry.toDocument` writes it) or a document per
 * category (`{ "categories": { "client": { "rules": [...] } } }`).
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromDocument = (input: unknown): Either.Either<Registries, ConflictRegistry.InvalidRegistryDocument> => {
  if (typeof input !== "object" || input === null || !("categories" in input)) {
    return Either.map(ConflictRegistry.fromDocument(input), single)
  }
  const { categories, ...rest } = input as { readonly categories: unknown }
  if (
    Object.keys(rest).length > 0 || typeof categories !== "object" || categories === null || Array.isArray(categories)
  ) {
    return Either.left(
      new ConflictRegistry.InvalidRegistryDocument({
        issues: [{
          path: [],
          message: "expected { \"rules\": [...] } or { \"categories\": { \"<category>\": { \"rules\": [...] } } }"
        }]
      })
    )
  }
  const registries: Record<string, ConflictRegistry.ConflictRegistry<any, any>> = {}
  for (const [category, document] of Object.entries(categories)) {
    const registry = ConflictRegistry.fromDocument(document)
    if (Either.isLeft(registry)) return Either.left(prefixed(registry.left, ["categories", category]))
    registries[category] = registry.right
  }
  return Either.right(byCategory(registries))
}

/**
 * Reads and validates a registry file.
 *
 * @since 0.1.0
 * @category decoding
 */
export const load = (file: string): Effect.Effect<Registries, InvalidRegistryFile, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError((error) => new InvalidRegistryFile({ file, reason: error.message }))
    )
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (error) => new InvalidRegistryFile({ file, reason: `not JSON: ${(error as Error).message}` })
    })
    return yield* fromDocument(json).pipe(
      Either.mapLeft((error) => new InvalidRegistryFile({ file, reason: error.message }))
    )
  })
