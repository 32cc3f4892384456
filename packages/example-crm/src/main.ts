// `npm run demo`: plays the Joe & Harry story step by step, against a running Concord service with --url (or
// CONCORD_URL), with --token (or CONCORD_TOKEN) when it requires one, or on an in-memory store without --url. The
// demo lives with the domain it plays, so that the service itself ships without one.
import { EventStore } from "@concord/core"
import { ConcordClient } from "@concord/server"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Story from "./Story.js"

const url = Options.text("url").pipe(
  Options.withDescription("a running service to play against (env CONCORD_URL); without it an in-memory store"),
  Options.withFallbackConfig(Config.string("CONCORD_URL")),
  Options.optional
)
const token = Options.redacted("token").pipe(
  Options.withDescription("the bearer token of a service started with one (env CONCORD_TOKEN)"),
  Options.withFallbackConfig(Config.redacted("CONCORD_TOKEN")),
  Options.optional
)

const demo = Command.make("demo", { url, token }, (flags) => {
  const store = Option.match(flags.url, {
    onNone: () => EventStore.layerMemory(),
    onSome: (baseUrl) =>
      ConcordClient.layerEventStore({ baseUrl, token: Option.getOrUndefined(flags.token) }).pipe(
        Layer.provide(FetchHttpClient.layer)
      )
  })
  return Effect.asVoid(Effect.provide(Story.play(), store))
}).pipe(Command.withDescription("play the Joe & Harry story, step by step"))

Command.run(demo, { name: "demo", version: "0.1.0" })(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain
)
