// Runs an example file as its own Node process, the way a reader would run it.
import { spawn } from "node:child_process"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

const tsx = createRequire(import.meta.url).resolve("tsx")

export const runExample = (file: string, args: ReadonlyArray<string> = [], cwd?: string) =>
  runTypeScript(fileURLToPath(new URL(`../../examples/${file}`, import.meta.url)), args, cwd)

/** Runs a TypeScript file; with `timeout` (milliseconds) the process is killed if it is still running by then. */
export const runTypeScript = (file: string, args: ReadonlyArray<string> = [], cwd?: string, timeout?: number) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["--conditions=@concord/source", "--import", tsx, file, ...args], {
      cwd,
      ...(timeout === undefined ? {} : { timeout }),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += String(chunk)))
    child.stderr.on("data", (chunk) => (stderr += String(chunk)))
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })
