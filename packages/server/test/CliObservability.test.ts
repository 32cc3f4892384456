// The observability flags of `concord serve`: each flag and its variables parsed and checked (a bad value is a usage
// error and nothing starts), then the real process: --otlp-endpoint (or its variables) sends spans, metrics and log
// lines to a collector, and nothing else; --log-format json writes a JSON object a line; --log-level, --no-metrics and
// --conflict-warn-threshold reach the service. Neither the collector nor the log holds event data or the token.
import { Telemetry } from "@concord/core"
import { OtlpExport } from "@concord/server"
import { Programs } from "@concord/test-postgres"
import * as CliConfig from "@effect/cli/CliConfig"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, LogLevel, Option } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as cliFlags from "../src/internal/cliFlags.js"
import * as otlpConfig from "../src/internal/otlpConfig.js"
import * as otlpReceiver from "./support/otlpReceiver.js"
import { runConcord } from "./support/server.js"

const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url))
const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-cli-observability-"))
const marker = "MARKER-c71e0d-event-data"
const token = "cli-observability-SECRET-0123456789"
const auth = { authorization: `Bearer ${token}` }

afterAll(() => fs.rmSync(directory, { recursive: true, force: true }))

/** A flag's value from `args` and `env` (as the only variables), or the usage error's text. */
const parsed = <A>(options: Options.Options<A>, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Options.processCommandLine(options, args, CliConfig.defaultConfig).pipe(
    Effect.map(([, , value]) => value),
    Effect.mapError((error) => HelpDoc.toAnsiText(error.error).trim()),
    Effect.either,
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
    Effect.provide(NodeContext.layer)
  )

/** The usage error's text for `args` and `env`; a value parsed fails the test. */
const refusal = <A>(options: Options.Options<A>, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.flatMap(
    parsed(options, args, env),
    Either.match({
      onLeft: Effect.succeed,
      onRight: (value) => Effect.dieMessage(`${args.join(" ")} ${JSON.stringify(env)} parsed as ${String(value)}`)
    })
  )

describe("concord serve's observability flags", () => {
  it.effect("--otlp-endpoint, else CONCORD_OTLP_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT; an empty one is unset", () =>
    Effect.gen(function*() {
      const flag = cliFlags.otlpEndpoint
      const concord = { CONCORD_OTLP_ENDPOINT: "http://concord:4318" }
      const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel:4318" }
      expect(yield* parsed(flag, [])).toEqual(Either.right(Option.none()))
      expect(yield* parsed(flag, ["--otlp-endpoint", "http://flag:4318"], { ...concord, ...otel }))
        .toEqual(Either.right(Option.some("http://flag:4318")))
      expect(yield* parsed(flag, [], { ...concord, ...otel })).toEqual(Either.right(Option.some("http://concord:4318")))
      expect(yield* parsed(flag, [], { CONCORD_OTLP_ENDPOINT: "", ...otel }))
        .toEqual(Either.right(Option.some("http://otel:4318")))
      expect(yield* parsed(flag, [], { OTEL_EXPORTER_OTLP_ENDPOINT: "" })).toEqual(Either.right(Option.none()))
      for (
        const [args, env] of [[["--otlp-endpoint", "ftp://x"], {}], [[], { CONCORD_OTLP_ENDPOINT: "nope" }]] as const
      ) {
        const error = yield* refusal(flag, args, env)
        expect(error).toContain("http: or https: URL")
      }
    }))

  it.effect(
    "--otlp-trace-ratio, else CONCORD_OTLP_TRACE_RATIO, else OTEL_TRACES_SAMPLER and its argument; 1 by default",
    () =>
      Effect.gen(function*() {
        const flag = cliFlags.otlpTraceRatio
        expect(yield* parsed(flag, [])).toEqual(Either.right(1))
        expect(yield* parsed(flag, ["--otlp-trace-ratio", "0.25"])).toEqual(Either.right(0.25))
        expect(yield* parsed(flag, ["--otlp-trace-ratio", "0"], { CONCORD_OTLP_TRACE_RATIO: "0.5" }))
          .toEqual(Either.right(0))
        const otel = { OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" }
        expect(yield* parsed(flag, [], { CONCORD_OTLP_TRACE_RATIO: "0.5", ...otel })).toEqual(Either.right(0.5))
        expect(yield* parsed(flag, [], { CONCORD_OTLP_TRACE_RATIO: "", ...otel })).toEqual(Either.right(0.1))
        const samplers: ReadonlyArray<readonly [string, string | undefined, number]> = [
          ["always_on", undefined, 1],
          ["parentbased_always_on", "0.3", 1],
          ["always_off", undefined, 0],
          ["parentbased_always_off", undefined, 0],
          ["traceidratio", "0.02", 0.02],
          ["parentbased_traceidratio", "0.75", 0.75],
          ["parentbased_traceidratio", undefined, 1],
          ["TraceIdRatio", "", 1],
          ["", "0.5", 1]
        ]
        for (const [sampler, argument, ratio] of samplers) {
          const env = {
            OTEL_TRACES_SAMPLER: sampler,
            ...(argument === undefined ? {} : { OTEL_TRACES_SAMPLER_ARG: argument })
          }
          expect(yield* parsed(flag, [], env), JSON.stringify(env)).toEqual(Either.right(ratio))
        }
        const refusals: ReadonlyArray<readonly [ReadonlyArray<string>, Record<string, string>, string]> = [
          [["--otlp-trace-ratio", "1.5"], {}, "--otlp-trace-ratio must be a number from 0 to 1"],
          [["--otlp-trace-ratio", "-0.1"], {}, "--otlp-trace-ratio must be a number from 0 to 1"],
          [["--otlp-trace-ratio", "half"], {}, "half"],
          [[], { CONCORD_OTLP_TRACE_RATIO: "2" }, "--otlp-trace-ratio must be a number from 0 to 1"],
          [[], { CONCORD_OTLP_TRACE_RATIO: "half" }, "CONCORD_OTLP_TRACE_RATIO"],
          [[], { OTEL_TRACES_SAMPLER: "jaeger_remote" }, `OTEL_TRACES_SAMPLER: "must be one of always_on`],
          [
            [],
            { OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "1.5" },
            "OTEL_TRACES_SAMPLER_ARG: \"must be a number from 0 to 1"
          ],
          [[], { OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "most" }, "OTEL_TRACES_SAMPLER_ARG"]
        ]
        for (const [args, env, expected] of refusals) {
          expect(yield* refusal(flag, args, env)).toContain(expected)
        }
      })
  )

  it.effect("--no-metrics, else CONCORD_METRICS=false, turns /metrics off; on by default", () =>
    Effect.gen(function*() {
      const flag = cliFlags.noMetrics
      expect(yield* parsed(flag, [])).toEqual(Either.right(false))
      expect(yield* parsed(flag, ["--no-metrics"])).toEqual(Either.right(true))
      expect(yield* parsed(flag, [], { CONCORD_METRICS: "false" })).toEqual(Either.right(true))
      expect(yield* parsed(flag, [], { CONCORD_METRICS: "true" })).toEqual(Either.right(false))
      expect(yield* parsed(flag, ["--no-metrics"], { CONCORD_METRICS: "true" })).toEqual(Either.right(true))
      expect(yield* refusal(flag, [], { CONCORD_METRICS: "maybe" })).toContain("CONCORD_METRICS")
    }))

  it.effect("--log-format pretty or json, else CONCORD_LOG_FORMAT; pretty by default", () =>
    Effect.gen(function*() {
      const flag = cliFlags.logFormat
      expect(yield* parsed(flag, [])).toEqual(Either.right("pretty"))
      expect(yield* parsed(flag, ["--log-format", "json"])).toEqual(Either.right("json"))
      expect(yield* parsed(flag, [], { CONCORD_LOG_FORMAT: "json" })).toEqual(Either.right("json"))
      expect(yield* parsed(flag, ["--log-format", "pretty"], { CONCORD_LOG_FORMAT: "json" }))
        .toEqual(Either.right("pretty"))
      expect(yield* refusal(flag, ["--log-format", "xml"])).toContain("pretty, json")
      expect(yield* refusal(flag, [], { CONCORD_LOG_FORMAT: "xml" })).toContain("CONCORD_LOG_FORMAT")
    }))

  it.effect("--log-level, else CONCORD_LOG_LEVEL, as Effect's levels; unset leaves the level as it is", () =>
    Effect.gen(function*() {
      const flag = cliFlags.logLevel
      expect(yield* parsed(flag, [])).toEqual(Either.right(Option.none()))
      const levels = {
        trace: LogLevel.Trace,
        debug: LogLevel.Debug,
        info: LogLevel.Info,
        warning: LogLevel.Warning,
        error: LogLevel.Error,
        none: LogLevel.None
      }
      for (const [name, level] of Object.entries(levels)) {
        expect(yield* parsed(flag, ["--log-level", name])).toEqual(Either.right(Option.some(level)))
        expect(yield* parsed(flag, [], { CONCORD_LOG_LEVEL: name })).toEqual(Either.right(Option.some(level)))
      }
      expect(yield* parsed(flag, ["--log-level", "error"], { CONCORD_LOG_LEVEL: "debug" }))
        .toEqual(Either.right(Option.some(LogLevel.Error)))
      expect(yield* refusal(flag, ["--log-level", "loud"])).toContain("trace, debug, info")
      expect(yield* refusal(flag, [], { CONCORD_LOG_LEVEL: "loud" })).toContain("CONCORD_LOG_LEVEL")
    }))

  it.effect("--slow-append-ms, else CONCORD_SLOW_APPEND_MS: 1000 by default, at least 1", () =>
    Effect.gen(function*() {
      const flag = cliFlags.slowAppend
      expect(yield* parsed(flag, [])).toEqual(Either.right(1_000))
      expect(yield* parsed(flag, ["--slow-append-ms", "250"])).toEqual(Either.right(250))
      expect(yield* parsed(flag, [], { CONCORD_SLOW_APPEND_MS: "40" })).toEqual(Either.right(40))
      expect(yield* refusal(flag, ["--slow-append-ms", "0"])).toContain("--slow-append-ms must be")
      expect(yield* refusal(flag, [], { CONCORD_SLOW_APPEND_MS: "0" })).toContain("--slow-append-ms must be")
      expect(yield* refusal(flag, [], { CONCORD_SLOW_APPEND_MS: "soon" }))
        .toContain("CONCORD_SLOW_APPEND_MS")
    }))

  it.effect("--conflict-warn-threshold, else CONCORD_CONFLICT_WARN_THRESHOLD: 10 by default, 0 is off", () =>
    Effect.gen(function*() {
      const flag = cliFlags.conflictWarnThreshold
      expect(yield* parsed(flag, [])).toEqual(Either.right(10))
      expect(yield* parsed(flag, ["--conflict-warn-threshold", "0"])).toEqual(Either.right(0))
      expect(yield* parsed(flag, [], { CONCORD_CONFLICT_WARN_THRESHOLD: "3" })).toEqual(Either.right(3))
      expect(yield* refusal(flag, ["--conflict-warn-threshold", "-1"]))
        .toContain("--conflict-warn-threshold must be 0 (off) or more")
      expect(yield* refusal(flag, [], { CONCORD_CONFLICT_WARN_THRESHOLD: "-1" }))
        .toContain("--conflict-warn-threshold must be 0 (off) or more")
    }))

  it("the export's last sends add at most its default bound to a shutdown, or the shutdown's bound if less", () => {
    const exported = Duration.toMillis(OtlpExport.defaultShutdownTimeout)
    expect(cliFlags.exportShutdownMillis(10_000)).toBe(exported)
    expect(cliFlags.exportShutdownMillis(exported + 1)).toBe(exported)
    expect(cliFlags.exportShutdownMillis(500)).toBe(500)
  })

  it("OTEL_EXPORTER_OTLP_HEADERS: key=value pairs, values percent-decoded; a malformed one never names its value", () => {
    expect(otlpConfig.parseHeaders("")).toEqual(Either.right(undefined))
    expect(otlpConfig.parseHeaders(" X-Key = a%20b ,Team=ops,")).toEqual(Either.right({ "x-key": "a b", team: "ops" }))
    expect(otlpConfig.parseHeaders("api-key=x=y")).toEqual(Either.right({ "api-key": "x=y" }))
    expect(otlpConfig.parseHeaders("SECRET-value")).toEqual(
      Either.left("OTEL_EXPORTER_OTLP_HEADERS must be key=value pairs separated by commas")
    )
    const bad = otlpConfig.parseHeaders("key=%E0%SECRET")
    expect(Either.isLeft(bad) && !bad.left.includes("SECRET")).toBe(true)
  })
})

/** The variables these processes see: none of the environment's own that the flags read. */
const inherited = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith("CONCORD_") && !name.startsWith("OTEL_"))
) as Record<string, string>

interface Serving {
  readonly url: string
  readonly stdout: () => string
  readonly output: () => string
  /** SIGTERM, then the exit code once it exited. */
  readonly stop: () => Promise<number | null>
}

const running = new Set<ChildProcess>()
afterAll(() => {
  for (const child of running) child.kill("SIGKILL")
})

/** `concord serve <args>` on a free port, over a SQLite file of its own, with these variables only. */
const serve = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<Serving>((resolve, reject) => {
    const db = path.join(directory, `${Math.random().toString(36).slice(2)}.db`)
    const child = spawn(process.execPath, [Programs.program(bin), "serve", "--port", "0", "--db", db, ...args], {
      env: { ...inherited, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    running.add(child)
    let stdout = ""
    let output = ""
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => (running.delete(child), done(code))))
    child.stdout.on("data", (chunk) => {
      stdout += String(chunk)
      output += String(chunk)
      const match = /listening on (http:\/\/\S+)/.exec(stdout)
      if (match !== null) {
        resolve({
          url: match[1]!,
          stdout: () => stdout,
          output: () => output,
          stop: () => (child.kill("SIGTERM"), exited)
        })
      }
    })
    child.stderr.on("data", (chunk) => (output += String(chunk)))
    void exited.then((code) => reject(new Error(`concord serve exited with ${code} before listening:\n${output}`)))
  })

const append = async (url: string, stream: string, body: unknown) => {
  const response = await fetch(`${url}/streams/${stream}/events`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify(body)
  })
  return { status: response.status, text: await response.text() }
}

const event = { type: "Noted", data: { note: marker }, metadata: { by: marker } }

/** Two appends, two conflicts, and a refusal that quotes the metadata it refused. */
const scenario = async (url: string, stream: string) => {
  expect((await append(url, stream, { expectedVersion: "any", events: [event] })).status).toBe(200)
  expect((await append(url, stream, { expectedVersion: 1, events: [event] })).status).toBe(200)
  expect((await append(url, stream, { expectedVersion: 0, events: [event] })).status).toBe(409)
  expect((await append(url, stream, { expectedVersion: 1, events: [event] })).status).toBe(409)
  const quoted = await append(url, stream, {
    expectedVersion: "any",
    events: [{ type: "T", data: {}, metadata: marker }]
  })
  expect(quoted.status).toBe(400)
  expect(quoted.text).toContain(marker)
}

/** The JSON log lines of the output: every line, the one that says where the service listens included. */
const jsonLines = (stdout: string) =>
  stdout.split("\n").filter((line) => line !== "").map((line) => {
    try {
      return JSON.parse(line) as Record<string, any>
    } catch {
      throw new Error(`not a JSON line: ${line}`)
    }
  })

describe("concord serve, observed, as a real process", () => {
  it(
    "--otlp-endpoint sends every request's spans, metrics and log lines; --log-format json writes JSON lines; neither holds event data or the token",
    async () => {
      const receiver = await otlpReceiver.start()
      try {
        const service = await serve([
          "--token",
          token,
          "--otlp-endpoint",
          receiver.url,
          "--log-format",
          "json",
          "--log-level",
          "debug"
        ], { OTEL_SERVICE_NAME: "concord-cli-test", OTEL_EXPORTER_OTLP_HEADERS: "x-collector-key=key-1" })
        await scenario(service.url, "observed")
        // What waits is sent on the way out.
        expect(await service.stop()).toBe(0)

        const servers = receiver.spans().filter((span) => span.kind === 2)
        expect(servers.map((span) => span.attributes["http.response.status_code"]).sort()).toEqual(
          [200, 200, 400, 409, 409]
        )
        expect(servers.every((span) => span.serviceName === "concord-cli-test")).toBe(true)
        expect(
          receiver.spans().filter((span) =>
            span.name === "concord.store.append" && span.attributes["concord.stream_id"] === "observed"
          )
        ).toHaveLength(4)
        expect(receiver.points().some((point) => point.name.startsWith("concord_"))).toBe(true)
        expect(receiver.logs().some((log) => log.body === "request")).toBe(true)
        expect(receiver.received().every((body) => body.headers["x-collector-key"] === "key-1")).toBe(true)
        for (const body of receiver.received()) {
          expect(body.text, body.signal).not.toContain(marker)
          expect(body.text, body.signal).not.toContain(token)
        }

        const lines = jsonLines(service.stdout())
        for (const line of lines) {
          expect(typeof line.timestamp === "string" && new Date(line.timestamp).toISOString()).toBe(line.timestamp)
          expect(typeof line.level).toBe("string")
          expect(line.fiber).toMatch(/^#\d+$/)
          expect(typeof line.message).toBe("string")
        }
        const messages = lines.map((line) => line.message)
        expect(messages.filter((message) => message.startsWith("Concord is listening on http://"))).toHaveLength(1)
        expect(messages).toContain("request")
        expect(lines.find((line) => line.message === "request")).toMatchObject({
          level: "DEBUG",
          annotations: { method: "POST", status: 200 }
        })
        expect(service.output()).not.toContain(marker)
        expect(service.output()).not.toContain(token)
      } finally {
        await receiver.close()
      }
    },
    90_000
  )

  it(
    "sends nothing without an endpoint (an empty OTEL_EXPORTER_OTLP_ENDPOINT is none), and CONCORD_OTLP_ENDPOINT wins over OTEL_EXPORTER_OTLP_ENDPOINT",
    async () => {
      const [chosen, other] = await Promise.all([otlpReceiver.start(), otlpReceiver.start()])
      try {
        const off = await serve(["--token", token], { OTEL_EXPORTER_OTLP_ENDPOINT: "" })
        const on = await serve(["--token", token], {
          CONCORD_OTLP_ENDPOINT: chosen.url,
          OTEL_EXPORTER_OTLP_ENDPOINT: other.url
        })
        await Promise.all([scenario(off.url, "off"), scenario(on.url, "on")])
        expect(await Promise.all([off.stop(), on.stop()])).toEqual([0, 0])
        expect(other.received()).toEqual([])
        const paths = new Set(chosen.spans().map((span) => span.attributes["url.path"]))
        expect(paths.has("/streams/on/events")).toBe(true)
        expect(paths.has("/streams/off/events")).toBe(false)
        expect(chosen.spans().every((span) => span.serviceName === "concord")).toBe(true)
      } finally {
        await Promise.all([chosen.close(), other.close()])
      }
    },
    90_000
  )

  it("OTEL_TRACES_SAMPLER=always_off (as --otlp-trace-ratio 0) sends the metrics and no span", async () => {
    const receiver = await otlpReceiver.start()
    try {
      const service = await serve(["--token", token, "--otlp-endpoint", receiver.url], {
        OTEL_TRACES_SAMPLER: "always_off"
      })
      await scenario(service.url, "unsampled")
      expect(await service.stop()).toBe(0)
      expect(receiver.points().some((point) => point.name === "concord_appends_total")).toBe(true)
      expect(receiver.spans()).toEqual([])
    } finally {
      await receiver.close()
    }
  }, 90_000)

  it("--log-level and --no-metrics reach the service", async () => {
    const quiet = await serve(["--token", token, "--log-level", "warning", "--no-metrics"])
    const metered = await serve(["--token", token], { CONCORD_LOG_LEVEL: "none" })
    try {
      // Before any append, every outcome's series is there at 0: a rate over a window sees the first one.
      const first = await (await fetch(`${metered.url}/metrics`, { headers: auth })).text()
      for (const outcome of Telemetry.outcomes) {
        expect(first).toContain(`concord_appends_total{outcome="${outcome}"} 0\n`)
      }
      expect(first).toContain("concord_subscriptions_open 0\n")
      await Promise.all([scenario(quiet.url, "quiet"), scenario(metered.url, "metered")])
      expect((await fetch(`${quiet.url}/metrics`, { headers: auth })).status).toBe(404)
      const metrics = await fetch(`${metered.url}/metrics`, { headers: auth })
      expect(metrics.status).toBe(200)
      expect(await metrics.text()).toContain("concord_")
    } finally {
      expect(await Promise.all([quiet.stop(), metered.stop()])).toEqual([0, 0])
    }
    // At warning, not the info lines; at none, nothing but the listening line.
    expect(quiet.stdout()).not.toContain("INFO")
    expect(metered.stdout().trim().split("\n")).toEqual([expect.stringMatching(/^Concord is listening on /)])
  }, 90_000)

  it("refuses a bad value of any of the flags or their variables with a usage error, starting nothing", async () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, Record<string, string>, string]> = [
      [["--otlp-endpoint", "localhost:4318"], {}, "http: or https: URL"],
      [[], { OTEL_EXPORTER_OTLP_ENDPOINT: "collector" }, "http: or https: URL"],
      [["--log-format", "xml"], {}, "pretty, json"],
      [[], { CONCORD_LOG_LEVEL: "loud" }, "CONCORD_LOG_LEVEL"],
      [["--slow-append-ms", "0"], {}, "--slow-append-ms must be"],
      [["--conflict-warn-threshold", "-1"], {}, "--conflict-warn-threshold must be 0 (off) or more"],
      [[], { CONCORD_METRICS: "maybe" }, "CONCORD_METRICS"],
      [["--otlp-endpoint", "http://127.0.0.1:4318"], { OTEL_EXPORTER_OTLP_HEADERS: "SECRET-value" }, "key=value"],
      [["--otlp-endpoint", "http://user:SECRET@127.0.0.1:4318"], {}, "no credentials"],
      [[], { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318/?key=SECRET" }, "no query"],
      [["--otlp-trace-ratio", "2"], {}, "--otlp-trace-ratio must be a number from 0 to 1"],
      [[], { OTEL_TRACES_SAMPLER: "jaeger_remote" }, "OTEL_TRACES_SAMPLER"]
    ]
    const runs = await Promise.all(
      cases.map(([args, env]) =>
        runConcord(["serve", "--port", "0", "--db", path.join(directory, "refused.db"), ...args], {
          ...Object.fromEntries(
            Object.keys(process.env).filter((name) => name.startsWith("OTEL_")).map((n) => [n, ""])
          ),
          ...env
        })
      )
    )
    for (const [i, { code, stderr, stdout }] of runs.entries()) {
      const [args, env, expected] = cases[i]!
      const what = `${args.join(" ")} ${JSON.stringify(env)}`
      expect(code, what).not.toBe(0)
      expect(`${stdout}${stderr}`, what).toContain(expected)
      expect(`${stdout}${stderr}`, what).not.toContain("listening")
      expect(`${stdout}${stderr}`, what).not.toContain("SECRET")
    }
  }, 90_000)
})
