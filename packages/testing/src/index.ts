/**
 * @since 0.1.0
 */
export * as Checker from "./Checker.js"

/**
 * @since 0.1.0
 */
export * as Laws from "./Laws.js"
