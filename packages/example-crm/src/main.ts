// Plays the Joe & Harry story on an in-memory store.
import { EventStore } from "@concord/core"
import * as Effect from "effect/Effect"
import * as Story from "./Story.js"

Effect.runPromise(
  Story.play().pipe(Effect.provide(EventStore.layerMemory()))
)
