import * as OtlpLogger from "@effect/opentelemetry/OtlpLogger"
import * as OtlpMetrics from "@effect/opentelemetry/OtlpMetrics"
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as Headers from "@effect/platform/Headers"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Predicate from "effect/Predicate"
import * as Tracer from "effect/Tracer"

/**
 * What the layer takes (see `OtlpExport.Options`).
 *
 * @internal
 */
export interface Options {
  readonly endpoint: string
  readonly serviceName?: string | undefined
  readonly exportInterval?: Duration.DurationInput | undefined
  readonly shutdownTimeout?: Duration.DurationInput | undefined
  readonly headers?: Headers.Input | undefined
}

/** @internal */
export const defaultServiceName = "concord"

/** @internal */
export const defaultExportInterval = Duration.seconds(5)

/** @internal */
export const defaultShutdownTimeout = Duration.seconds(3)

/**
 * Why an endpoint is refused, or `undefined` for an `http:` or `https:` URL.
 *
 * @internal
 */
export const endpointProblem = (endpoint: string): string | undefined => {
  const expected = "the OTLP endpoint must be an http: or https: URL, such as http://localhost:4318"
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    return `${expected}, not ${JSON.stringify(endpoint)}`
  }
  return url.protocol === "http:" || url.protocol === "https:"
    ? undefined
    : `${expected}, not a ${url.protocol} URL`
}

/** The name of what failed: a tagged error's tag, an error's name, else the kind of value. */
const tagOf = (failure: unknown): string =>
  Predicate.hasProperty(failure, "_tag") && typeof failure._tag === "string"
    ? failure._tag
    : failure instanceof Error
    ? failure.name
    : typeof failure

/** An error that says only `tag`: no message, no stack beyond its name. */
const nameOnly = (tag: string): Error => {
  const error = new Error(tag)
  error.name = tag
  error.stack = tag
  return error
}

/**
 * The cause with each failure and defect replaced by an error that names its tag only. The exporter writes a failed
 * span's first error's message, and the whole cause pretty-printed, into its status and exception event: an error's
 * message or fields may quote what a request held (a decode error quotes the value it refused, a conflict carries the
 * committed events), which no span may send.
 */
const tagsOnly = (cause: Cause.Cause<unknown>): Cause.Cause<unknown> => {
  const failures = [...Cause.failures(cause)].map((failure) => Cause.fail(nameOnly(tagOf(failure))))
  const defects = [...Cause.defects(cause)].map((defect) => Cause.die(nameOnly(tagOf(defect))))
  const all = [...failures, ...defects]
  return all.length === 0 ? cause : all.reduce((left, right) => Cause.parallel(left, right))
}

/**
 * A pretty-printed cause (a log line's, in a span event) cut to the tag it starts with: `Tag: message` -> `Tag`.
 */
const tagOfPretty = (pretty: unknown): unknown => typeof pretty === "string" ? /^[^:\n]*/.exec(pretty)![0] : pretty

/**
 * The tracer with each span's end given an exit whose failures say their tags only (see {@link tagsOnly}), and each
 * event's cause (a log line's: Effect adds every line logged in a span as its event) cut to its tag; spans that
 * succeed or are interrupted end as they would.
 *
 * @internal
 */
export const withTagsOnly = (tracer: Tracer.Tracer): Tracer.Tracer =>
  Tracer.make({
    span(name, parent, context, links, startTime, kind, options) {
      const span = tracer.span(name, parent, context, links, startTime, kind, options)
      const end = span.end
      const event = span.event
      Object.defineProperties(span, {
        end: {
          value: (endTime: bigint, exit: Exit.Exit<unknown, unknown>) =>
            end.call(
              span,
              endTime,
              Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? Exit.failCause(tagsOnly(exit.cause)) : exit
            )
        },
        event: {
          value: (name: string, startTime: bigint, attributes?: Record<string, unknown>) =>
            event.call(
              span,
              name,
              startTime,
              attributes === undefined || !("effect.cause" in attributes)
                ? attributes
                : { ...attributes, "effect.cause": tagOfPretty(attributes["effect.cause"]) }
            )
        }
      })
      return span
    },
    context: (f, fiber) => tracer.context(f, fiber)
  })

/**
 * The logger with each line's cause cut to its failures' tags (see {@link tagsOnly}), as the exporter sends it.
 *
 * @internal
 */
export const logsWithTagsOnly = <A>(logger: Logger.Logger<A, void>): Logger.Logger<A, void> =>
  Logger.make((options) =>
    logger.log(Cause.isEmpty(options.cause) ? options : { ...options, cause: tagsOnly(options.cause) })
  )

/**
 * The OTLP exporters of traces, metrics and logs on `fetch`, with JSON bodies (see `OtlpExport.layer`).
 *
 * @internal
 */
export const layer = <E>(
  options: Options,
  invalid: (endpoint: string, message: string) => E
): Layer.Layer<never, E> => {
  const problem = endpointProblem(options.endpoint)
  if (problem !== undefined) return Layer.fail(invalid(options.endpoint, problem))
  const base = options.endpoint.replace(/\/+$/, "")
  const common = {
    resource: { serviceName: options.serviceName ?? defaultServiceName },
    headers: options.headers,
    exportInterval: options.exportInterval ?? defaultExportInterval,
    shutdownTimeout: options.shutdownTimeout ?? defaultShutdownTimeout
  }
  return Layer.mergeAll(
    Layer.unwrapScoped(
      Effect.map(
        OtlpTracer.make({ ...common, url: `${base}/v1/traces` }),
        (tracer) => Layer.setTracer(withTagsOnly(tracer))
      )
    ),
    OtlpMetrics.layer({ ...common, url: `${base}/v1/metrics` }),
    Logger.addScoped(Effect.map(OtlpLogger.make({ ...common, url: `${base}/v1/logs` }), logsWithTagsOnly))
  ).pipe(
    Layer.provide(OtlpSerialization.layerJson),
    Layer.provide(FetchHttpClient.layer)
  )
}
