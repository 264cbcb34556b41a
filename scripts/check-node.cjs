#!/usr/bin/env node
/**
 * Stops `npm start` and `npm test` at once, with one line, on a Node older than the root
 * package's `engines.node` asks for: the tools they run would otherwise fail later, in
 * places far from the cause. `node scripts/check-node.cjs [version]` checks the running Node,
 * or the version given. Written for any Node that may run it: CommonJS and ES5 syntax only.
 */
"use strict"

// biome-ignore lint/style/useNodejsImportProtocol: must load on Node versions without `node:`
var fs = require("fs")
// biome-ignore lint/style/useNodejsImportProtocol: must load on Node versions without `node:`
var path = require("path")

/** [major, minor, patch] of "v20.1.0", "22.12" or "24"; undefined when it is none of those. */
function parseVersion(text) {
  var match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(String(text).trim())
  if (!match) return undefined
  return [Number(match[1]), Number(match[2] || 0), Number(match[3] || 0)]
}

function atLeast(version, minimum) {
  var i
  for (i = 0; i < 3; i++) {
    if (version[i] !== minimum[i]) return version[i] > minimum[i]
  }
  return true
}

/**
 * The one-line refusal for `version` against a `>=X.Y.Z` range, or undefined when it
 * satisfies the range (or the range has another form, which this check does not judge).
 */
function check(version, range) {
  var bound = /^\s*>=\s*v?(\d+(?:\.\d+){0,2})\s*$/.exec(String(range))
  if (!bound) return undefined
  var minimum = parseVersion(bound[1])
  var current = parseVersion(version)
  if (current && atLeast(current, minimum)) return undefined
  return (
    "Taskport needs Node " +
    bound[1] +
    " or newer; this is Node " +
    String(version).replace(/^v/, "") +
    " (see the README's Quick start)."
  )
}

/** The root package's `engines.node`. */
function requiredRange() {
  var manifest = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"))
  // biome-ignore lint/complexity/useOptionalChain: optional chaining is newer than some of the Nodes this must refuse
  return (manifest.engines || {}).node
}

module.exports = { check: check, requiredRange: requiredRange }

function main() {
  var message = check(process.argv[2] || process.versions.node, requiredRange())
  if (message) {
    process.stderr.write(message)
    process.stderr.write("\n")
    process.exit(1)
  }
}

if (require.main === module) main()
