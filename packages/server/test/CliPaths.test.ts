// The command line's paths as a user gives them, through the npm scripts the docs show (`npm run concord -- serve
// --registry rules.json`, `npm start`, `npm run read-model`), run from a directory of the repository: a relative path is
// taken from that directory, not from the package the script runs in, and a file that is not there is named by the
// absolute path that was tried.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repository = path.resolve(fileURLToPath(new URL("../../..", import.meta.url)))
const exampleRegistry = path.join(repository, "packages", "example-crm", "registry.json")

/** How long one npm script may take to start serving or to fail (it may compile first), and to exit once stopped. */
const startDeadline = 60_000
const exitDeadline = 10_000

interface Script {
  readonly output: () => string
  /** The exit code, or the signal's name when a signal ended it. */
  readonly exited: Promise<number | string>
  /** Resolves with the first match of `pattern` in the output; rejects at the deadline or when the script exits. */
  readonly waitFor: (pattern: RegExp) => Promise<RegExpExecArray>
  readonly stop: () => Promise<void>
}

const running = new Set<ChildProcess>()

const signalGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  try {
    // The script's group: npm, its shell, the nested npm and the program, killed together.
    process.kill(-child.pid!, signal)
  } catch {
    // Gone already.
  }
}

const withDeadline = <A>(promise: Promise<A>, millis: number, what: string, output: () => string) =>
  new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${millis} ms\n${output()}`)), millis)
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error) => (clearTimeout(timer), reject(error))
    )
  })

/** `npm <args>` in `cwd`, as a user runs it there: in a process group of its own, killed with it. */
const npm = (cwd: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Script => {
  const { CONCORD_CWD: _cwd, INIT_CWD: _init, ...inherited } = process.env
  const child = spawn("npm", args, { cwd, env: { ...inherited, ...env }, detached: true, stdio: "pipe" })
  running.add(child)
  let output = ""
  const listeners = new Set<() => void>()
  const onData = (chunk: Buffer) => {
    output += String(chunk)
    for (const listener of listeners) listener()
  }
  child.stdout!.on("data", onData)
  child.stderr!.on("data", onData)
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => {
      running.delete(child)
      resolve(code ?? signal ?? "unknown")
    })
  )
  const what = `npm ${args.join(" ")} in ${cwd}`
  const waitFor = (pattern: RegExp) =>
    withDeadline(
      new Promise<RegExpExecArray>((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output)
          if (match !== null) resolve(match)
        }
        listeners.add(check)
        check()
        void exited.then((code) => reject(new Error(`${what} exited with ${code}:\n${output}`)))
      }),
      startDeadline,
      what,
      () => output
    )
  const stop = async () => {
    signalGroup(child, "SIGTERM")
    try {
      await withDeadline(exited, exitDeadline, `${what} after SIGTERM`, () => output)
    } finally {
      signalGroup(child, "SIGKILL")
    }
  }
  return { output: () => output, exited, waitFor, stop }
}

let directory: string
let relative: string

beforeAll(() => {
  // In the repository, as npm scripts are run, under a directory git ignores.
  fs.mkdirSync(path.join(repository, ".concord"), { recursive: true })
  directory = fs.mkdtempSync(path.join(repository, ".concord", "cli-paths-"))
  relative = path.relative(repository, directory)
  fs.copyFileSync(exampleRegistry, path.join(directory, "rules.json"))
})

afterEach(() => {
  for (const child of running) signalGroup(child, "SIGKILL")
})

afterAll(() => {
  fs.rmSync(directory, { recursive: true, force: true })
})

describe("CLI paths, through the npm scripts", () => {
  it("npm run concord -- serve takes --registry and --db from the directory it is run in", async () => {
    const script = npm(directory, [
      "run",
      "concord",
      "--",
      "serve",
      "--registry",
      "rules.json",
      "--db",
      "events.db",
      "--port",
      "0"
    ])
    try {
      const [, url] = await script.waitFor(/listening on (http:\/\/\S+)/)
      expect(script.output()).toContain(
        `storing events in ${path.join(directory, "events.db")}; conflict rules from ${
          path.join(directory, "rules.json")
        } for client`
      )
      const health = await withDeadline(fetch(`${url}/health`), 5_000, "GET /health", script.output)
      expect(health.status).toBe(200)
      expect(fs.existsSync(path.join(directory, "events.db"))).toBe(true)
    } finally {
      await script.stop()
    }
  }, startDeadline + exitDeadline + 10_000)

  it("a registry file that is not there fails the start, naming the absolute path it tried", async () => {
    // From the repository's root, as the docs show it, with a path relative to the root.
    const script = npm(repository, [
      "run",
      "concord",
      "--",
      "serve",
      "--registry",
      `${relative}/missing.json`,
      "--port",
      "0"
    ])
    const code = await withDeadline(
      script.exited,
      startDeadline,
      "concord serve with a missing registry",
      script.output
    )
    expect(code).not.toBe(0)
    expect(script.output()).toContain(`the registry file ${path.join(directory, "missing.json")} cannot be used`)
    expect(script.output()).not.toContain("listening on")
  }, startDeadline + 10_000)

  it("npm start stores in .concord/concord.db of the directory it is run in, with the example's rules", async () => {
    const script = npm(directory, ["start"], { CONCORD_PORT: "0" })
    try {
      await script.waitFor(/listening on http:\/\/\S+/)
      expect(script.output()).toContain(
        `storing events in ${path.join(directory, ".concord", "concord.db")}; conflict rules from ${exampleRegistry}`
      )
      expect(fs.existsSync(path.join(directory, ".concord", "concord.db"))).toBe(true)
    } finally {
      await script.stop()
    }
  }, startDeadline + exitDeadline + 10_000)

  it("npm run read-model takes --db from the directory it is run in", async () => {
    const script = npm(directory, ["run", "read-model", "--", "--db", "model.db", "--port", "0"])
    try {
      await script.waitFor(/listening on http:\/\/\S+/)
      expect(script.output()).toContain(`The CRM read model of ${path.join(directory, "model.db")} is listening`)
    } finally {
      await script.stop()
    }
  }, startDeadline + exitDeadline + 10_000)
})
