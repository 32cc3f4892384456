import { HttpApiSchema, HttpServerError } from "@effect/platform"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as http from "node:http"
import { StreamsGroup } from "../Api.js"

/** The errors the append endpoint declares, each with its status and encoding, as the API answers them. */
const appendErrors = (() => {
  const schemas = new Set<Schema.Schema.Any>()
  HttpApiSchema.deunionize(schemas, StreamsGroup.endpoints.append!.errorSchema)
  return [...schemas].filter((schema) => schema.ast._tag !== "NeverKeyword").map((schema) => ({
    is: Schema.is(schema),
    encode: Schema.encodeSync(schema as Schema.Schema<unknown, unknown>),
    status: HttpApiSchema.getStatusError(schema)
  }))
})()

/**
 * Writes a JSON answer as the platform writes one: the status, the extra headers, then the body's type and length.
 *
 * @internal
 */
export const json = (
  response: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {}
): void => {
  const text = JSON.stringify(body)
  response.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text)
  })
  response.end(text)
}

/**
 * Writes the answer to an append that failed as the API answers it: an error the endpoint declares as JSON with its
 * status, anything else (a defect) as the platform answers a cause it has no answer for.
 *
 * @internal
 */
export const failure = (response: http.ServerResponse, cause: Cause.Cause<unknown>): void => {
  const error = Cause.failureOption(cause)
  if (Option.isSome(error)) {
    const declared = appendErrors.find((candidate) => candidate.is(error.value))
    if (declared !== undefined) return json(response, declared.status, declared.encode(error.value))
  }
  const [answer] = Effect.runSync(HttpServerError.causeResponse(cause))
  const body = answer.body._tag === "Uint8Array" ? answer.body.body : undefined
  response.writeHead(answer.status, {
    ...answer.headers,
    ...(body === undefined ? {} : { "content-type": answer.body.contentType, "content-length": body.length })
  })
  response.end(body)
}

/**
 * Writes the answer an append's exit calls for: its result as JSON (`encode` gives the body), or its failure.
 *
 * @internal
 */
export const exit = <A>(response: http.ServerResponse, result: Exit.Exit<A, unknown>, encode: (a: A) => unknown) =>
  Exit.isSuccess(result) ? json(response, 200, encode(result.value)) : failure(response, result.cause)
