import { defineConfig } from "vitepress"

export default defineConfig({
  title: "Concord",
  description: "Event storage that accepts concurrent writes that do not really clash",
  srcExclude: ["test/**", "examples/**"]
})
