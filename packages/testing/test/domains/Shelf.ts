// The shelf: a small domain whose correct registry is known, and registries each wrong in one rule, for the laws'
// tests.
import { ConflictRegistry, Decider } from "@concord/core"
import { Data, Effect, HashMap, Schema } from "effect"

// A shelf of items: stocking sets an item's count, clearing removes it, locking stops both. Items and counts come from
// tiny domains; the registry below is as permissive as is safe.
export const Item = Schema.Literal("apple", "pear", "plum")
export const Count = Schema.Literal(1, 2, 3)
export const Stocked = Schema.TaggedStruct("Stocked", { item: Item, count: Count })
export const Cleared = Schema.TaggedStruct("Cleared", { item: Item })
export const Locked = Schema.TaggedStruct("Locked", {})
export const ShelfEvent = Schema.Union(Stocked, Cleared, Locked)
export type ShelfEvent = typeof ShelfEvent.Type

export class Shelf extends Data.Class<{ readonly locked: boolean; readonly items: HashMap.HashMap<string, number> }> {}
export const emptyShelf = new Shelf({ locked: false, items: HashMap.empty() })

export const evolveShelf = (shelf: Shelf, event: ShelfEvent): Shelf => {
  switch (event._tag) {
    case "Stocked":
      return new Shelf({ ...shelf, items: HashMap.set(shelf.items, event.item, event.count) })
    case "Cleared":
      return new Shelf({ ...shelf, items: HashMap.remove(shelf.items, event.item) })
    case "Locked":
      return new Shelf({ ...shelf, locked: true })
  }
}

export const Stock = Schema.TaggedStruct("Stock", { item: Item, count: Count })
export const Clear = Schema.TaggedStruct("Clear", { item: Item })
export const Lock = Schema.TaggedStruct("Lock", {})
export const ShelfCommand = Schema.Union(Stock, Clear, Lock)
export type ShelfCommand = typeof ShelfCommand.Type

export class ShelfIsLocked extends Data.TaggedError("ShelfIsLocked") {}
export class NotOnShelf extends Data.TaggedError("NotOnShelf")<{ readonly item: string }> {}

export const decideShelf = (
  command: ShelfCommand,
  shelf: Shelf
): Effect.Effect<ReadonlyArray<ShelfEvent>, ShelfIsLocked | NotOnShelf> => {
  if (shelf.locked) return Effect.fail(new ShelfIsLocked())
  switch (command._tag) {
    case "Stock":
      return Effect.succeed([Stocked.make({ item: command.item, count: command.count })])
    case "Clear":
      return HashMap.has(shelf.items, command.item)
        ? Effect.succeed([Cleared.make({ item: command.item })])
        : Effect.fail(new NotOnShelf({ item: command.item }))
    case "Lock":
      return Effect.succeed([Locked.make({})])
  }
}

export const shelfDecider = Decider.make({ initialState: emptyShelf, evolve: evolveShelf, decide: decideShelf })

export const sameItem = ConflictRegistry.sameKey("item")

export const shelfRegistry = ConflictRegistry.make(ShelfEvent).pipe(
  ConflictRegistry.conflicts("Stocked", ["Locked"]),
  ConflictRegistry.conflictsWhen("Stocked", "Stocked", sameItem),
  ConflictRegistry.conflictsWhen("Stocked", "Cleared", sameItem),
  ConflictRegistry.conflicts("Cleared", ["Locked"]),
  ConflictRegistry.conflictsWhen("Cleared", "Stocked", sameItem),
  ConflictRegistry.conflictsWhen("Cleared", "Cleared", sameItem),
  ConflictRegistry.conflicts("Locked", ["Locked"]),
  ConflictRegistry.exhaustive
)

// Two stockings of the same item overwrite each other, yet this registry lets them pass each other.
export const stockingsPass = ConflictRegistry.make(ShelfEvent).pipe(
  ConflictRegistry.conflicts("Stocked", ["Locked"]),
  ConflictRegistry.conflictsWhen("Stocked", "Cleared", sameItem),
  ConflictRegistry.conflicts("Cleared", ["Locked"]),
  ConflictRegistry.conflictsWhen("Cleared", "Stocked", sameItem),
  ConflictRegistry.conflictsWhen("Cleared", "Cleared", sameItem),
  ConflictRegistry.conflicts("Locked", ["Locked"]),
  ConflictRegistry.exhaustive
)

// A clearing decided before the shelf was locked fails after it, yet this registry lets it pass a locking.
export const clearingPassesLocking = ConflictRegistry.make(ShelfEvent).pipe(
  ConflictRegistry.conflicts("Stocked", ["Locked"]),
  ConflictRegistry.conflictsWhen("Stocked", "Stocked", sameItem),
  ConflictRegistry.conflictsWhen("Stocked", "Cleared", sameItem),
  ConflictRegistry.conflictsWhen("Cleared", "Stocked", sameItem),
  ConflictRegistry.conflictsWhen("Cleared", "Cleared", sameItem),
  ConflictRegistry.conflicts("Locked", ["Locked"]),
  ConflictRegistry.exhaustive
)
