// #region run
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { main } from "./quick-start.js"

NodeRuntime.runMain(Effect.flatMap(main, Console.log))
// #endregion run
