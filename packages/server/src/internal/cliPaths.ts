import * as Path from "@effect/platform/Path"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"

/**
 * The absolute path a path given on the command line names, relative ones from `CONCORD_CWD` or else the working
 * directory: `Cli.resolvePath`, which says why.
 *
 * @internal
 */
export const resolvePath = (file: string): Effect.Effect<string, never, Path.Path> =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const base = yield* Config.string("CONCORD_CWD").pipe(Config.withDefault(""), Effect.orElseSucceed(() => ""))
    return path.resolve(base === "" ? process.cwd() : base, file)
  })
