import * as OtlpLogger from "@effect/opentelemetry/OtlpLogger"
import * as OtlpMetrics from "@effect/opentelemetry/OtlpMetrics"
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as Headers from "@effect/platform/Headers"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Tracer from "effect/Tracer"
import { randomUUID } from "node:crypto"

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
  readonly traceRatio?: number | undefined
}

/** @internal */
export const defaultServiceName = "concord"

/** @internal */
export const defaultExportInterval = Duration.seconds(5)

/** @internal */
export const defaultShutdownTimeout = Duration.seconds(3)

/**
 * Why an endpoint is refused, or `undefined` for an `http:` or `https:` base URL: one with credentials (`fetch` refuses
 * a URL that holds them, and each export would fail unseen), a query or a fragment (the signals' paths are added at
 * its end) is refused too. No message quotes what may be a credential.
 *
 * @internal
 */
export const endpointProblem = (endpoint: string): string | undefined => {
  const expected = "the OTLP endpoint must be an http: or https: URL, such as http://localhost:4318"
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    return endpoint.includes("@") ? expected : `${expected}, not ${JSON.stringify(endpoint)}`
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return `${expected}, not a ${url.protocol} URL`
  if (url.username !== "" || url.password !== "") {
    return "the OTLP endpoint must hold no credentials (user:password@): send them as headers " +
      "(OTEL_EXPORTER_OTLP_HEADERS, or OtlpExport's headers option)"
  }
  if (url.search !== "" || url.hash !== "" || /[?#]/.test(endpoint)) {
    return "the OTLP endpoint must have no query (?...) or fragment (#...): it is the base URL that /v1/traces, " +
      "/v1/metrics and /v1/logs are added to"
  }
  return undefined
}

/**
 * The endpoint as a refusal may show it: without user info, query or fragment, which may hold credentials.
 *
 * @internal
 */
export const shownEndpoint = (endpoint: string): string => {
  try {
    const url = new URL(endpoint)
    return `${url.protocol}//${url.host}${url.pathname}`
  } catch {
    return endpoint.includes("@") ? "(not shown)" : endpoint
  }
}

/**
 * Why a trace ratio is refused, or `undefined` for a number from 0 to 1.
 *
 * @internal
 */
export const traceRatioProblem = (ratio: number): string | undefined =>
  ratio >= 0 && ratio <= 1 ? undefined : `the trace ratio must be a number from 0 to 1, not ${ratio}`

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

/** What every unsampled span shares: it records nothing. */
const noAttributes: ReadonlyMap<string, unknown> = new Map()
const noLinks: ReadonlyArray<Tracer.SpanLink> = Object.freeze([])

/** 16 hexadecimal digits of a UUID: its first 8 and 8 of its last 12, all random. */
const spanIdOf = (uuid: string): string => uuid.slice(0, 8) + uuid.slice(24, 32)

/**
 * A span that is not sampled: it has the ids a trace context needs (its parent's trace, or a new one, and a span id of
 * its own), records nothing and is never exported; its children, made under it, are not sampled either. Its ids are
 * drawn when first read, as most are never read (a log line in the span reads them, and a trace context sent on).
 * Effect's `NativeSpan` cannot stand in for it: it says it is sampled, and keeps what it is given.
 */
class UnsampledSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly sampled = false
  status: Tracer.SpanStatus
  private drawnSpanId: string | undefined = undefined
  private drawnTraceId: string | undefined = undefined
  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    this.status = { _tag: "Started", startTime }
  }
  get spanId(): string {
    return this.drawnSpanId ??= spanIdOf(randomUUID())
  }
  get traceId(): string {
    return this.drawnTraceId ??= this.parent._tag === "Some"
      ? this.parent.value.traceId
      : randomUUID().replaceAll("-", "")
  }
  get attributes() {
    return noAttributes
  }
  get links() {
    return noLinks
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>) {
    // Effect reads it to end a span once only.
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
  attribute() {}
  event() {}
  addLinks() {}
}

/**
 * The tracer with head sampling: a span with a parent is sampled when its parent is (an incoming `traceparent` says
 * whether with its flags, an Effect span with its `sampled`), a root span with probability `ratio`; a span not sampled
 * is an {@link UnsampledSpan}, which `tracer` never sees. So a trace is sent whole or not at all, and a span not
 * sampled costs a small object instead of its recording, serialization and upload (what Effect itself spends to run an
 * effect in a span is left to the code that makes it).
 *
 * @internal
 */
export const withTraceRatio = (tracer: Tracer.Tracer, ratio: number): Tracer.Tracer =>
  Tracer.make({
    span(name, parent, context, links, startTime, kind, options) {
      // Math.random() < 1 always holds, and < 0 never.
      return (parent._tag === "Some" ? parent.value.sampled : Math.random() < ratio)
        ? tracer.span(name, parent, context, links, startTime, kind, options)
        : new UnsampledSpan(name, parent, context, startTime, kind)
    },
    context: (f, fiber) => tracer.context(f, fiber)
  })

/** Whether a value is written as it is: a string, number, boolean, bigint, symbol, `null` or `undefined`. */
const isPrimitive = (value: unknown): boolean =>
  value === null || (typeof value !== "object" && typeof value !== "function")

/** A value as the export may send it: itself when primitive, else its tag (see {@link tagOf}). */
const primitiveOrTag = (value: unknown): unknown => isPrimitive(value) ? value : tagOf(value)

/**
 * A log line's message with each part that is not a primitive value cut to its tag: an error or an object given to a
 * log line (`Effect.logError("store failure", error)`) would be sent whole, its message and fields included, which
 * may quote what a request held.
 */
const messageTagsOnly = (message: unknown): unknown =>
  Array.isArray(message)
    ? message.every(isPrimitive) ? message : message.map(primitiveOrTag)
    : primitiveOrTag(message)

/** A log line's annotations with each value that is not primitive cut to its tag, as its message's parts. */
const annotationsTagsOnly = (
  annotations: HashMap.HashMap<string, unknown>
): HashMap.HashMap<string, unknown> =>
  HashMap.every(annotations, isPrimitive) ? annotations : HashMap.map(annotations, primitiveOrTag)

/** A log line as the export may send it: its message's parts, its annotations and its cause cut to their tags. */
const optionsTagsOnly = <A>(options: Logger.Logger.Options<A>): Logger.Logger.Options<A> => {
  const message = messageTagsOnly(options.message) as A
  const annotations = annotationsTagsOnly(options.annotations)
  const cause = Cause.isEmpty(options.cause) ? options.cause : tagsOnly(options.cause)
  return message === options.message && annotations === options.annotations && cause === options.cause
    ? options
    : { ...options, message, annotations, cause }
}

/**
 * The logger with each line's message parts, annotations and cause cut to their tags (see {@link tagsOnly}), as the
 * exporter sends it; the line itself is left as it is for the other loggers (stdout keeps it whole).
 *
 * @internal
 */
export const logsWithTagsOnly = <A>(logger: Logger.Logger<A, void>): Logger.Logger<A, void> =>
  Logger.make((options) => logger.log(optionsTagsOnly(options)))

/**
 * Effect's logger that adds every line logged in a span to it as an event, given the line cut to its tags: the event's
 * name is the message written out, and its `effect.cause` the cause pretty-printed. A line in a span not sampled is
 * left out before anything is built for it.
 *
 * @internal
 */
export const spanEventsTagsOnly: Logger.Logger<unknown, void> = Logger.make((options) => {
  const span = Context.getOption(FiberRefs.getOrDefault(options.context, FiberRef.currentContext), Tracer.ParentSpan)
  if (span._tag === "Some" && span.value.sampled) Logger.tracerLogger.log(optionsTagsOnly(options))
})

/**
 * The OTLP exporters of traces, metrics and logs on `fetch`, with JSON bodies (see `OtlpExport.layer`).
 *
 * @internal
 */
export const layer = <E1, E2>(
  options: Options,
  invalid: {
    readonly endpoint: (endpoint: string, message: string) => E1
    readonly traceRatio: (traceRatio: number, message: string) => E2
  }
): Layer.Layer<never, E1 | E2> => {
  const problem = endpointProblem(options.endpoint)
  if (problem !== undefined) return Layer.fail(invalid.endpoint(shownEndpoint(options.endpoint), problem))
  const traceRatio = options.traceRatio ?? 1
  const ratioProblem = traceRatioProblem(traceRatio)
  if (ratioProblem !== undefined) return Layer.fail(invalid.traceRatio(traceRatio, ratioProblem))
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
        // The sampler first: an unsampled span costs nothing more.
        (tracer) => Layer.setTracer(withTraceRatio(withTagsOnly(tracer), traceRatio))
      )
    ),
    OtlpMetrics.layer({ ...common, url: `${base}/v1/metrics` }),
    Logger.addScoped(Effect.map(OtlpLogger.make({ ...common, url: `${base}/v1/logs` }), logsWithTagsOnly)),
    Logger.replace(Logger.tracerLogger, spanEventsTagsOnly)
  ).pipe(
    Layer.provide(OtlpSerialization.layerJson),
    Layer.provide(FetchHttpClient.layer)
  )
}
