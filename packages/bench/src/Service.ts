// The service as users run it: a `concord serve` process of its own (from the sources, through tsx, as the bench
// runs everything), and the HTTP a client speaks to it: appends, and subscriptions read as Server-Sent Events.
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import { createRequire } from "node:module"

const tsx = createRequire(import.meta.url).resolve("tsx")
const bin = new URL("../../server/src/bin.ts", import.meta.url).pathname

/** How long a service has to start listening before the bench gives up on it. */
const startTimeoutMillis = 60_000

export interface Service {
  readonly url: string
  readonly pid: number
  /** SIGTERM, then SIGKILL if it has not exited within a few seconds. */
  readonly stop: () => Promise<void>
}

/** What the service stores events in: a SQLite file, or a PostgreSQL database by URL. */
export type Storage = { readonly sqlite: string } | { readonly postgres: string }

/** What a service is started with besides its storage. */
export interface StartOptions {
  /** More flags of `concord serve`, after the storage's. */
  readonly args?: ReadonlyArray<string>
  /** Environment variables set over the bench's own; `undefined` removes one the bench has. */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Flags of node itself, before the program (`--cpu-prof`, for a profile). */
  readonly nodeArgs?: ReadonlyArray<string>
}

/**
 * Starts `concord serve` on a free port and resolves once it prints the address it listens on (see
 * {@link startListening}).
 */
export const start = (storage: Storage, options: StartOptions = {}): Promise<Service> =>
  startListening("concord serve", [
    bin,
    "serve",
    "--port",
    "0",
    ...("sqlite" in storage ? ["--db", storage.sqlite] : ["--postgres", storage.postgres]),
    ...(options.args ?? [])
  ], options)

/**
 * Starts a TypeScript program from the sources (through tsx) and resolves once it prints "listening on URL". Its
 * output is read as it comes (a service logs every append and subscription; a pipe left full would stall it), the
 * last of its errors kept for the failure's message.
 */
export const startListening = (
  what: string,
  args: ReadonlyArray<string>,
  options: Pick<StartOptions, "env" | "nodeArgs"> = {}
): Promise<Service> => {
  const env = { ...process.env, ...options.env }
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name]
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), "--conditions=@concord/source", "--import", tsx, ...args],
    { stdio: ["ignore", "pipe", "pipe"], env }
  )
  let errors = ""
  child.stderr!.on("data", (chunk) => (errors = (errors + String(chunk)).slice(-2_000)))
  return new Promise<Service>((resolve, reject) => {
    let output = ""
    let listening = false
    const timer = setTimeout(() => fail("did not start listening"), startTimeoutMillis)
    const fail = (why: string) => {
      clearTimeout(timer)
      child.kill("SIGKILL")
      reject(new Error(`${what} ${why}: ${errors.trim() || "(nothing on stderr)"}`))
    }
    const onExit = (code: number | null) => fail(`exited with ${code} before listening`)
    child.once("exit", onExit)
    child.stdout!.on("data", (chunk) => {
      if (listening) return
      output += String(chunk)
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match === null) return
      listening = true
      clearTimeout(timer)
      child.off("exit", onExit)
      resolve({ url: match[1]!, pid: child.pid!, stop: () => stop(child) })
    })
  })
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill("SIGTERM")
  })

/** A process's resident set, in bytes, from /proc. */
export const rssOf = (pid: number): number => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const kilobytes = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
  if (kilobytes === undefined) throw new Error(`/proc/${pid}/status has no VmRSS`)
  return Number(kilobytes) * 1024
}

/**
 * The CPU time a process's threads have had so far, in nanoseconds, from /proc (the scheduler's own account, finer
 * than the clock ticks of /proc/PID/stat): the difference over a trial is what the trial cost the process, whatever
 * else the machine was doing meanwhile. Threads that have exited are not counted.
 */
export const cpuNanosOf = (pid: number): number =>
  fs.readdirSync(`/proc/${pid}/task`).reduce((sum, task) => {
    try {
      return sum + Number(fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0])
    } catch {
      // A thread that exited between the listing and the read.
      return sum
    }
  }, 0)

/**
 * Appends one event to a stream at its expected version and resolves with the moment (`performance.now()`) the
 * service's `200` arrived, once the response's body is read (so that the keep-alive connection is free again).
 */
export const append = (
  agent: http.Agent,
  url: string,
  stream: string,
  expectedVersion: number | "any",
  event: { readonly type: string; readonly data: unknown }
): Promise<number> => {
  const body = JSON.stringify({ expectedVersion, events: [event] })
  return new Promise<number>((resolve, reject) => {
    const request = http.request(`${url}/streams/${encodeURIComponent(stream)}/events`, {
      method: "POST",
      agent,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
    }, (response) => {
      const acknowledged = performance.now()
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => (text += chunk))
      response.on("error", reject)
      response.on("end", () =>
        response.statusCode === 200
          ? resolve(acknowledged)
          : reject(new Error(`append to ${stream}: ${response.statusCode} ${text}`)))
    })
    request.on("error", reject)
    request.end(body)
  })
}

/** An event as a subscription delivers it: its stream and version, and when its message arrived. */
export interface Delivery {
  readonly streamId: string
  readonly version: number
  readonly at: number
}

export interface Subscription {
  /**
   * Resolves once the service's opening comment arrived. From `end`, the service reads where the end is just after
   * sending it: an event appended at once may come before that end.
   */
  readonly opened: Promise<void>
  readonly close: () => void
}

/**
 * `GET /events/subscribe?after=end` read as Server-Sent Events: each event's message, parsed from its `data` line,
 * goes to `onEvent` with the moment its chunk arrived. A subscription that fails or ends before it is closed goes
 * to `onError`.
 */
export const subscribe = (
  agent: http.Agent,
  url: string,
  onEvent: (delivery: Delivery) => void,
  onError: (error: Error) => void
): Subscription => {
  let closed = false
  let opened!: () => void
  let refused!: (error: Error) => void
  const openedPromise = new Promise<void>((resolve, reject) => {
    opened = resolve
    refused = reject
  })
  // Awaited or not, a failure is reported through onError: no unhandled rejection.
  openedPromise.catch(() => {})
  const fail = (error: Error) => {
    if (closed) return
    refused(error)
    onError(error)
  }
  const request = http.get(`${url}/events/subscribe?after=end`, { agent }, (response) => {
    if (response.statusCode !== 200) return fail(new Error(`subscribe: ${response.statusCode}`))
    let buffer = ""
    response.setEncoding("utf8")
    response.on("data", (chunk: string) => {
      const at = performance.now()
      buffer += chunk
      let end: number
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const message = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        if (message.startsWith(":")) {
          opened()
          continue
        }
        const data = message.split("\n").find((line) => line.startsWith("data: "))
        if (data === undefined) continue
        const event = JSON.parse(data.slice(6)) as { streamId: string; version: number }
        onEvent({ streamId: event.streamId, version: event.version, at })
      }
    })
    response.on("error", (error) => fail(error))
    response.on("end", () => fail(new Error("the subscription ended")))
  })
  request.on("error", (error) => fail(error))
  return {
    opened: openedPromise,
    close: () => {
      closed = true
      request.destroy()
    }
  }
}
