/**
 * The `@concord/testing/vitest` entry point: the parts that register vitest tests, which need `vitest` and
 * `@effect/vitest`. The package's index (`Laws`, `Checker`) loads without them, in a script or under any runner.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as EventStoreSuite from "./EventStoreSuite.js"
