// Starting the real `concord` process for end-to-end tests.
import { type ChildProcess, spawn } from "node:child_process"
import { createRequire } from "node:module"

const tsx = createRequire(import.meta.url).resolve("tsx")
const bin = new URL("../../src/bin.ts", import.meta.url).pathname

export interface Running {
  readonly url: string
  readonly process: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/** Runs `concord <args>` to completion and returns its exit code and output. */
export const runConcord = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["--conditions=@concord/source", "--import", tsx, bin, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += String(chunk)))
    child.stderr.on("data", (chunk) => (stderr += String(chunk)))
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })

/** Starts `concord serve <args>` on a free port and waits until it listens. */
export const startServer = (args: ReadonlyArray<string>) =>
  new Promise<Running>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--conditions=@concord/source", "--import", tsx, bin, "serve", "--port", "0", ...args],
      { stdio: ["ignore", "pipe", "pipe"] }
    )
    let output = ""
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
          stop: (signal = "SIGTERM") => {
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
