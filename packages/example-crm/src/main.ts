// `npm run demo`: plays the Joe & Harry story step by step, against a running Concord service with --url (or
// CONCORD_URL), with --token (or CONCORD_TOKEN) when it requires one, or on a SQLite store in memory without --url.
// After each save it shows the CRM read model (ReadModel) following: a read model served by `npm run read-model`
// with --read-model, otherwise one the demo keeps itself, in memory, fed by a transactional consumer of the store's
// log. The demo lives with the domain it plays, so that the service itself ships without one.
import { Cli, ConcordClient } from "@concord/server"
import { SqlCheckpoints } from "@concord/sql"
import { SqliteEventStore } from "@concord/sql/sqlite"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Database from "./Database.js"

import * as ReadModel from "./ReadModel.js"
import * as ReadModelApi from "./ReadModelApi.js"
import * as Story from "./Story.js"

const url = Options.text("url").pipe(
  Options.withDescription("a running service to play against (env CONCORD_URL); without it a SQLite store in memory"),
  Options.withFallbackConfig(Config.string("CONCORD_URL")),
  Options.optional
)
const token = Options.redacted("token").pipe(
  Options.withDescription("the bearer token of a service started with one (env CONCORD_TOKEN)"),
  Options.withFallbackConfig(Config.redacted("CONCORD_TOKEN")),
  Options.optional
)
const readModel = Options.text("read-model").pipe(
  Options.withDescription(
    "a read model served by `npm run read-model` on the service's database, to follow the saves on " +
      "(env CONCORD_READ_MODEL_URL); without it the demo keeps a read model of its own, in memory"
  ),
  Options.withFallbackConfig(Config.string("CONCORD_READ_MODEL_URL")),
  Options.optional
)

/** How long the demo waits for a read model to show a save. */
const deadline = "10 seconds"

// A read model in this process: its consumer runs beside the story, which ends it (its failure ends the story).
const followedHere = Story.play(Console.log, {
  readModel: (streamId, version) => ReadModel.waitFor(ReadModel.get, streamId, version, { timeout: deadline })
}).pipe((story) => Effect.raceFirst(story, ReadModel.run))

// Checkpoints and the read model's table in a SQLite database in memory, for a store that is elsewhere.
const ownReadModelDatabase = SqlCheckpoints.layer().pipe(
  Layer.provideMerge(SqliteEventStore.layerClient({ filename: ":memory:" }))
)

// The story against the store the flags name, followed by the read model they name.
const played = (flags: {
  readonly url: Option.Option<string>
  readonly token: Option.Option<Redacted.Redacted>
  readonly readModel: Option.Option<string>
}): Effect.Effect<unknown, unknown, HttpClient.HttpClient> => {
  if (Option.isNone(flags.url)) {
    if (Option.isSome(flags.readModel)) {
      // A read model elsewhere follows a service's store, which only --url names: the saves would never reach it.
      return Effect.fail(new Error("--read-model follows the saves of a service: give the service's --url too"))
    }
    // The store, its checkpoints and the read model, all in one SQLite database in memory.
    return Effect.provide(followedHere, Database.layerSqlite(":memory:"))
  }
  const store = ConcordClient.layerEventStore({ baseUrl: flags.url.value, token: Option.getOrUndefined(flags.token) })
  if (Option.isNone(flags.readModel)) {
    // The service's log, read through the client, into a read model of the demo's own.
    return Effect.provide(followedHere, Layer.merge(store, ownReadModelDatabase))
  }
  const lookup = ReadModelApi.lookup(flags.readModel.value)
  return Story.play(Console.log, {
    readModel: (streamId, version) => ReadModel.waitFor(lookup, streamId, version, { timeout: deadline })
  }).pipe(Effect.provide(store))
}

const demo = Command.make(
  "demo",
  { url, token, readModel },
  (flags) => Effect.asVoid(Effect.provide(played(flags), FetchHttpClient.layer))
).pipe(Command.withDescription("play the Joe & Harry story, step by step, and show the read model following it"))

Cli.runMain("demo", Command.run(demo, { name: "demo", version: "0.1.0" })(process.argv), LogLevel.Warning)
