// `npm run docs:api`: rewrites the committed API reference pages (docs/api/) from the packages' sources.
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { readPages, writeApiReference } from "./apiReference.js"

const docs = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const outDir = path.join(docs, "api")
writeApiReference(path.dirname(docs), outDir)
console.log(`API reference: ${readPages(outDir).size} pages in ${path.relative(process.cwd(), outDir) || "."}`)
