import { HttpApiBuilder, HttpApiError, type HttpApp } from "@effect/platform"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import { ConcordApi } from "../Api.js"
import { excerpt } from "./jsonNumbers.js"

/** The most characters of a value a decode error's message or path echoes. */
const maxValue = 100

/** The most characters of one line of a message, whatever it holds: a net under the rules for values. */
const maxLine = 1_000

/** A JSON string literal, as the formatters write a string value (and a key in a path). */
const stringLiteral = /"(?:[^"\\]|\\.)*"/g

/** The formatters' `Expected <schema>, actual <value>`: the value runs to the end of the line. */
const actual = ", actual "

/** A string literal cut short, still quoted. */
const shortLiteral = (literal: string): string =>
  literal.length <= maxValue + 2 ? literal : `${excerpt(literal.slice(0, -1), maxValue + 1)}"`

/** The line with each string literal's characters masked (its length and quotes kept): no search finds text inside. */
const maskLiterals = (line: string): string =>
  line.replace(stringLiteral, (literal) => `"${"_".repeat(literal.length - 2)}"`)

/**
 * One line of a message, with every value in it cut to an excerpt. The value after `, actual ` is cut from the line as
 * written, so that the count of characters left out is the value's own; the string literals before it are cut each.
 */
const boundLine = (line: string): string => {
  if (line.length <= maxValue) return line
  const at = maskLiterals(line).indexOf(actual)
  const valueCut = at === -1
    ? line.replace(stringLiteral, shortLiteral)
    : line.slice(0, at + actual.length).replace(stringLiteral, shortLiteral) +
      excerpt(line.slice(at + actual.length), maxValue)
  return excerpt(valueCut, maxLine)
}

/**
 * A decode error's message with no value echoed past an excerpt: the platform formats the value that failed into the
 * message, so that a 900 KB string where an object belongs would come back twice (in an issue and in the tree).
 *
 * @internal
 */
export const boundMessage = (message: string): string =>
  message.length <= maxValue ? message : message.split("\n").map(boundLine).join("\n")

const boundPathKey = (key: PropertyKey): PropertyKey => typeof key === "string" ? excerpt(key, maxValue) : key

/**
 * The same error, its issues (tag, path and message each) and message kept, with every value they echo cut to an
 * excerpt of about 100 characters followed by how many more there were.
 *
 * @internal
 */
export const bounded = (error: HttpApiError.HttpApiDecodeError): HttpApiError.HttpApiDecodeError =>
  new HttpApiError.HttpApiDecodeError({
    issues: error.issues.map((issue) => ({
      _tag: issue._tag,
      path: issue.path.map(boundPathKey),
      message: boundMessage(issue.message)
    })),
    message: boundMessage(error.message)
  })

const isDecodeError = (error: unknown): error is HttpApiError.HttpApiDecodeError =>
  Predicate.isTagged(error, "HttpApiDecodeError")

/**
 * Every `HttpApiDecodeError` the API answers (a body, path or query that does not match its Schema), bounded: its
 * shape as the document describes it, its values cut to excerpts, so that the answer to a large request is small.
 *
 * @internal
 */
export const layer: Layer.Layer<never> = HttpApiBuilder.middleware(
  ConcordApi,
  (app: HttpApp.Default) =>
    // The app's type says it never fails: the endpoints' decoding fails with HttpApiDecodeError all the same.
    Effect.catchIf(app as HttpApp.Default<unknown>, isDecodeError, (error) =>
      Effect.fail(bounded(error))) as HttpApp.Default
)
