// Starting the real `concord` process for end-to-end tests.
import { Programs } from "@concord/test-postgres"
import { type ChildProcess, spawn } from "node:child_process"
import * as http from "node:http"
import { fileURLToPath } from "node:url"

const bin = fileURLToPath(new URL("../../src/bin.ts", import.meta.url))
/** The example's demo, `npm run demo`: the service ships without a story of its own. */
const demo = fileURLToPath(new URL("../../../example-crm/src/main.ts", import.meta.url))

export interface Running {
  readonly url: string
  readonly process: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
  /** Whether `stop` has been called: set just before the signal is sent. */
  readonly stopping: () => boolean
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/** Runs a TypeScript program to completion and returns its exit code and output. */
const runProgram = (file: string, args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [Programs.program(file), ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += String(chunk)))
    child.stderr.on("data", (chunk) => (stderr += String(chunk)))
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })

/** Runs `concord <args>` to completion and returns its exit code and output. */
export const runConcord = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => runProgram(bin, args, env)

/** Runs the example's demo with `args` to completion and returns its exit code and output. */
export const runDemo = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => runProgram(demo, args, env)

/** Starts `concord serve <args>` on a free port and waits until it listens. */
export const startServer = (args: ReadonlyArray<string>) =>
  new Promise<Running>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [Programs.program(bin), "serve", "--port", "0", ...args],
      { stdio: ["ignore", "pipe", "pipe"] }
    )
    let output = ""
    let stopping = false
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)))
    const onData = (chunk: Buffer) => {
      output += String(chunk)
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match !== null) {
        resolve({
          url: match[1]!,
          process: child,
          output: () => output,
          exited,
          stopping: () => stopping,
          stop: (signal = "SIGTERM") => {
            stopping = true
            child.kill(signal)
            return exited
          }
        })
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    void exited.then((code) => reject(new Error(`concord serve exited with ${code} before listening:\n${output}`)))
  })

/** The outcome of one request sent on a connection of its own, and whether it was wholly sent before `stopping`. */
export interface Sent {
  readonly sentBeforeStop: boolean
  readonly status: number | undefined
  readonly body: string
}

/**
 * POSTs a JSON body on a fresh connection, noting whether the whole request had been written to the socket before
 * the server was told to stop. A transport failure is a status of `undefined`.
 */
export const postOnce = (
  url: string,
  body: unknown,
  stopping: () => boolean
): { readonly written: Promise<void>; readonly outcome: Promise<Sent> } => {
  let written!: () => void
  const whenWritten = new Promise<void>((resolve) => (written = resolve))
  const outcome = new Promise<Sent>((resolve) => {
    const payload = JSON.stringify(body)
    let sentBeforeStop = false
    const request = http.request(url, {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
    }, (response) => {
      let text = ""
      response.on("data", (chunk) => (text += String(chunk)))
      response.on("end", () => resolve({ sentBeforeStop, status: response.statusCode, body: text }))
      response.on("error", () => resolve({ sentBeforeStop, status: undefined, body: text }))
    })
    request.on("finish", () => {
      sentBeforeStop = !stopping()
      written()
    })
    request.on("error", (error) => {
      written()
      resolve({ sentBeforeStop, status: undefined, body: error.message })
    })
    request.end(payload)
  })
  return { written: whenWritten, outcome }
}
