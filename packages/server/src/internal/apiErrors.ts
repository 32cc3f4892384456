// The errors the API declares: its endpoints' and middlewares' own, and those answered outside the endpoints. Named
// by `Api`, which re-exports them; kept apart so that the API's declaration reads as its endpoints.
import { HttpApiSchema } from "@effect/platform"
import * as Schema from "effect/Schema"

/**
 * The store behind the service is failing (its database is down, a lock timed out). The details stay in the
 * server's logs.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", {
  message: Schema.String
}) {}

/**
 * The request carries no valid bearer token.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 401 })) {}

/**
 * The request body is larger than the service accepts.
 *
 * @since 0.1.0
 * @category errors
 */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  message: Schema.String,
  limitBytes: Schema.Number
}, HttpApiSchema.annotations({ status: 413 })) {}

/**
 * The request cannot be read: its body is not JSON or nests deeper than an append request may, its path is not valid
 * percent-encoded UTF-8, or it is not HTTP/1.1 that Node's parser reads (then the connection is closed).
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedRequest extends Schema.TaggedError<MalformedRequest>()("MalformedRequest", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 400 })) {}

/**
 * A `POST` without `Content-Length`: a body of undeclared length could only be refused by cutting the connection
 * mid-stream.
 *
 * @since 0.1.0
 * @category errors
 */
export class LengthRequired extends Schema.TaggedError<LengthRequired>()("LengthRequired", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 411 })) {}

/**
 * The stream id in the path is not one a stream can have.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidStreamId extends Schema.TaggedError<InvalidStreamId>()("InvalidStreamId", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 400 })) {}

/**
 * A `POST` whose body is not declared as JSON: its `Content-Type` must be `application/json`, with `charset=utf-8`
 * when it names a charset. Refused before the body is read.
 *
 * @since 0.3.0
 * @category errors
 */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 415 })) {}

/**
 * No endpoint has the request's path. Answered outside the endpoints, so none declares it.
 *
 * @since 0.3.0
 * @category errors
 */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 404 })) {}

/**
 * An endpoint has the request's path but not its method: `allowed` lists the methods it has, as the `Allow` header
 * does. Answered outside the endpoints, so none declares it.
 *
 * @since 0.3.0
 * @category errors
 */
export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()("MethodNotAllowed", {
  message: Schema.String,
  allowed: Schema.Array(Schema.String)
}, HttpApiSchema.annotations({ status: 405 })) {}

/**
 * The request line and headers are larger than the server reads (16 KiB, Node's limit). Answered before the request
 * reaches the API, and the connection is closed.
 *
 * @since 0.3.0
 * @category errors
 */
export class HeadersTooLarge extends Schema.TaggedError<HeadersTooLarge>()("HeadersTooLarge", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 431 })) {}

/**
 * The request's line and headers did not arrive in time (Node's `headersTimeout`, or its `requestTimeout` for the
 * whole request). Answered before the request reaches the API, and the connection is closed.
 *
 * @since 0.3.0
 * @category errors
 */
export class RequestTimeout extends Schema.TaggedError<RequestTimeout>()("RequestTimeout", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 408 })) {}
