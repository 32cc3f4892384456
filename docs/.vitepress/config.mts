import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitepress"
import { writeApiReference } from "./apiReference.js"

const docs = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const repository = path.dirname(docs)

// Regenerated on every load of the config, so a build never shows stale pages; the dev server regenerates them when
// it starts.
const apiSidebar = writeApiReference(repository, path.join(docs, "api"))

const guide = [
  { text: "Why Concord", link: "/why" },
  { text: "Quick start", link: "/quick-start" },
  { text: "Concepts", link: "/concepts" },
  { text: "The registry", link: "/registry" },
  { text: "Laws", link: "/laws" },
  { text: "Command handling and retries", link: "/commands" },
  { text: "Stores", link: "/stores" },
  { text: "Reading everything", link: "/reading" },
  { text: "The service", link: "/service" }
]

export default defineConfig({
  title: "Concord",
  description: "Event storage for Effect programs that accepts concurrent writes that do not really clash",
  cleanUrls: true,
  srcExclude: ["test/**", "examples/**", "build/**", "node_modules/**"],
  head: [["link", { rel: "icon", href: "data:," }]],
  themeConfig: {
    nav: [
      {
        text: "Guide",
        link: "/why",
        activeMatch: "^/(why|quick-start|concepts|registry|laws|commands|stores|reading|service)"
      },
      { text: "API", link: "/api/", activeMatch: "^/api/" },
      { text: "Benchmarks", link: "/benchmarks" },
      { text: "Comparison", link: "/comparison" }
    ],
    sidebar: [
      { text: "Guide", items: guide },
      {
        text: "More",
        items: [
          { text: "Benchmarks", link: "/benchmarks" },
          { text: "Compared with other approaches", link: "/comparison" }
        ]
      },
      { text: "API reference", link: "/api/", items: apiSidebar }
    ],
    outline: { level: [2, 3] },
    search: { provider: "local" }
  }
})
