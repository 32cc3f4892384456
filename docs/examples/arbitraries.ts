import { ConflictRegistry } from "@concord/core"
import { Laws } from "@concord/testing"
import { Arbitrary, FastCheck, HashMap, Schema } from "effect"

// #region annotate
// A price list: each event names the SKU it prices. Generated SKUs are drawn from three values, so two generated
// events often price the same SKU, which is the case a rule about SKUs is about.
const Sku = Schema.String.pipe(
  Schema.minLength(1),
  Schema.annotations({ arbitrary: () => (fc) => fc.constantFrom("sku-1", "sku-2", "sku-3") })
)

// Small numbers: shrunk counterexamples stay readable.
const Price = Schema.NonNegativeInt.annotations({ arbitrary: () => (fc) => fc.integer({ min: 0, max: 100 }) })

export const PriceSet = Schema.TaggedStruct("PriceSet", { sku: Sku, price: Price })
export const ItemRetired = Schema.TaggedStruct("ItemRetired", { sku: Sku })
export const PriceEvent = Schema.Union(PriceSet, ItemRetired)
export type PriceEvent = typeof PriceEvent.Type
// #endregion annotate

// #region laws
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

export const commutation = (registry: ConflictRegistry.ConflictRegistry<PriceEvent, any>) =>
  Laws.commutation({ registry, evolve, initialState, run: { seed: 42 } })
// commutation(wrong) fails within a few runs; commutation(right) succeeds
// #endregion laws

// #region without
// The same events without the annotation: SKUs are arbitrary strings and two of them almost never match.
const PlainSku = Schema.String.pipe(Schema.minLength(1))
export const PlainPriceSet = Schema.TaggedStruct("PriceSet", { sku: PlainSku, price: Price })
// #endregion without

/** How often two generated `PriceSet`s name the same SKU, over `samples` pairs drawn with a fixed seed. */
export const sameSkuShare = <A extends { readonly sku: string }, I>(
  schema: Schema.Schema<A, I>,
  samples: number
): number => {
  const arbitrary = Arbitrary.make(schema)
  const pairs = FastCheck.sample(FastCheck.tuple(arbitrary, arbitrary), { numRuns: samples, seed: 7 })
  return pairs.filter(([a, b]) => a.sku === b.sku).length / samples
}
