import { EventStore } from "@concord/core"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import * as Server from "./src/Server.js"
const outer = Layer.scopedDiscard(Effect.addFinalizer(() => Effect.sync(() => console.error("FIN outer"))))
Layer.launch(Server.layer({ port: 18779 }).pipe(Layer.provide(EventStore.layerMemory()), Layer.provideMerge(outer)))
  .pipe(NodeRuntime.runMain)
