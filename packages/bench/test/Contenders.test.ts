import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Contenders from "../src/Contenders.js"

// What the installer decides, without installing anything: the manifests pin exact versions, and the cache counts as
// installed only when it holds the same manifest and npm finished.
describe("Contenders", () => {
  for (const name of Object.keys(Contenders.definitions) as Array<Contenders.Name>) {
    it(`${name}: the manifest pins exact versions, and its lockfile installs them`, () => {
      const directory = Contenders.manifestDirectory(name)
      const manifest = JSON.parse(fs.readFileSync(path.join(directory, "package.json"), "utf8")) as {
        dependencies: Record<string, string>
      }
      const lock = JSON.parse(fs.readFileSync(path.join(directory, "package-lock.json"), "utf8")) as {
        packages: Record<string, { version?: string; dependencies?: Record<string, string> }>
      }
      expect(lock.packages[""]?.dependencies).toEqual(manifest.dependencies)
      for (const [dependency, version] of Object.entries(manifest.dependencies)) {
        expect(version).toMatch(/^\d+\.\d+\.\d+$/)
        expect(lock.packages[`node_modules/${dependency}`]?.version).toBe(version)
      }
      expect(fs.existsSync(path.join(directory, "index.js"))).toBe(true)
    })
  }

  it("a cache is installed only with the same manifest and npm's record of a finished install", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "concord-contenders-"))
    try {
      const manifest = Contenders.manifestDirectory("emmett")
      const cache = Contenders.cacheDirectory("emmett", root)
      expect(Contenders.status(manifest, cache)).toBe("missing")
      fs.mkdirSync(path.join(cache, "node_modules"), { recursive: true })
      for (const file of ["package.json", "package-lock.json", "index.js"]) {
        fs.copyFileSync(path.join(manifest, file), path.join(cache, file))
      }
      expect(Contenders.status(manifest, cache)).toBe("missing")
      fs.writeFileSync(path.join(cache, "node_modules", ".package-lock.json"), "{}")
      expect(Contenders.status(manifest, cache)).toBe("installed")
      fs.appendFileSync(path.join(cache, "index.js"), "\n")
      expect(Contenders.status(manifest, cache)).toBe("stale")
    } finally {
      fs.rmSync(root, { recursive: true, force: true })
    }
  })

  it("measuring without contenders loads none", async () => {
    const lines: Array<string> = []
    const loaded = await Contenders.load("none", ["emmett", "emmett-sqlite"], (line) => lines.push(line))
    expect(loaded).toEqual(Contenders.none)
    expect(lines).toEqual([])
  })
})
