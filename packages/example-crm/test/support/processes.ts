// The example's programs as real processes: `npm run read-model`, `npm run demo`, and `concord serve` beside them.
import { Programs } from "@concord/test-postgres"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

export const programs = {
  readModel: fileURLToPath(new URL("../../src/readModelMain.ts", import.meta.url)),
  demo: fileURLToPath(new URL("../../src/main.ts", import.meta.url)),
  concord: fileURLToPath(new URL("../../../server/src/bin.ts", import.meta.url))
}

export const registryFile = fileURLToPath(new URL("../../registry.json", import.meta.url))

const spawnProgram = (file: string, args: ReadonlyArray<string>): ChildProcess =>
  spawn(process.execPath, [Programs.program(file), ...args], {
    stdio: ["ignore", "pipe", "pipe"]
  })

export interface Running {
  readonly url: string
  readonly output: () => string
  readonly exited: Promise<number | null>
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/** Starts a program that serves, and waits for the line that says where it listens. */
export const start = (file: string, args: ReadonlyArray<string>): Promise<Running> =>
  new Promise((resolve, reject) => {
    const child = spawnProgram(file, args)
    let output = ""
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)))
    const onData = (chunk: Buffer) => {
      output += String(chunk)
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match !== null) {
        resolve({
          url: match[1]!,
          output: () => output,
          exited,
          stop: (signal = "SIGTERM") => {
            child.kill(signal)
            return exited
          }
        })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    void exited.then((code) => reject(new Error(`${file} exited with ${code} before listening:\n${output}`)))
  })

/** Runs a program to completion and returns its exit code and output. */
export const run = (file: string, args: ReadonlyArray<string>) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resolve) => {
    const child = spawnProgram(file, args)
    let stdout = ""
    let stderr = ""
    child.stdout!.on("data", (chunk) => (stdout += String(chunk)))
    child.stderr!.on("data", (chunk) => (stderr += String(chunk)))
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })
