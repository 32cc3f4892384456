import { ConflictRegistry } from "@concord/core"
import { Laws } from "@concord/testing"
import { Arbitrary, FastCheck, HashMap, Schema } from "effect"

// #region plain
// A price list: each event names the SKU it prices. Nothing tells the laws that SKUs matter: the field's Schema is
// any non-empty string.
export const PriceSet = Schema.TaggedStruct("PriceSet", {
  sku: Schema.String.pipe(Schema.minLength(1)),
  price: Schema.NonNegativeInt
})
export const ItemRetired = Schema.TaggedStruct("ItemRetired", { sku: Schema.String.pipe(Schema.minLength(1)) })
export const PriceEvent = Schema.Union(PriceSet, ItemRetired)
export type PriceEvent = typeof PriceEvent.Type

// A HashMap compares by value, so the law's default equivalence (Equal.equals) compares two states as prices.
export const evolve = (prices: HashMap.HashMap<string, number>, event: PriceEvent) =>
  event._tag === "PriceSet" ? HashMap.set(prices, event.sku, event.price) : HashMap.remove(prices, event.sku)
export const initialState = HashMap.empty<string, number>()

// Wrong: two prices for the same SKU do not commute (the later one wins).
export const wrong = ConflictRegistry.make(PriceEvent).pipe(ConflictRegistry.never("PriceSet"))

export const right = ConflictRegistry.make(PriceEvent).pipe(
  ConflictRegistry.conflictsWhen("PriceSet", "PriceSet", ConflictRegistry.sameKey("sku")),
  ConflictRegistry.conflictsWhen("PriceSet", "ItemRetired", ConflictRegistry.sameKey("sku"))
)

export const commutation = (registry: ConflictRegistry.ConflictRegistry<PriceEvent, any>, seed: number) =>
  Laws.commutation({ registry, evolve, initialState, run: { seed } })
// commutation(wrong, seed) fails on PriceSet → PriceSet; commutation(right, seed) succeeds
// #endregion plain

// #region annotate
// The same events, annotated: SKUs from three readable values, prices from 0 to 100.
const Sku = Schema.String.pipe(
  Schema.minLength(1),
  Schema.annotations({ arbitrary: () => (fc) => fc.constantFrom("sku-1", "sku-2", "sku-3") })
)
const Price = Schema.NonNegativeInt.annotations({ arbitrary: () => (fc) => fc.integer({ min: 0, max: 100 }) })

export const AnnotatedPriceEvent = Schema.Union(
  Schema.TaggedStruct("PriceSet", { sku: Sku, price: Price }),
  Schema.TaggedStruct("ItemRetired", { sku: Sku })
)

// The decoded type is the same, so evolve and the registries are shared: only the laws' generated values differ.
export const annotatedCommutation = (registry: ConflictRegistry.ConflictRegistry<PriceEvent, any>, seed: number) =>
  Laws.commutation({ registry, evolve, initialState, events: AnnotatedPriceEvent, run: { seed } })
// #endregion annotate

/** How often two values of a Schema's own arbitrary name the same SKU, over `samples` pairs drawn with a fixed seed. */
export const sameSkuShare = <A extends { readonly sku: string }, I>(
  schema: Schema.Schema<A, I>,
  samples: number
): number => {
  const arbitrary = Arbitrary.make(schema)
  const pairs = FastCheck.sample(FastCheck.tuple(arbitrary, arbitrary), { numRuns: samples, seed: 7 })
  return pairs.filter(([a, b]) => a.sku === b.sku).length / samples
}
