#!/usr/bin/env node
/**
 * Records the other platforms' native builds (biome, turbo, ...) in package-lock.json.
 *
 * npm leaves an optional dependency out of the lockfile when the registry it installs from
 * does not serve that platform's build, and `npm ci` then refuses the lockfile as out of
 * sync. An entry naming the package's os/cpu is enough for `npm ci` to accept the lockfile
 * and skip the package on platforms it does not fit; the platform is read from the name.
 * Run after `npm install` if `npm ci` reports "Missing: <package>@ from lock file".
 */
import { readFileSync, writeFileSync } from "node:fs"

const file = process.argv[2] ?? "package-lock.json"
const lock = JSON.parse(readFileSync(file, "utf8"))

const platformOf = (name) => {
  const os = /android/.test(name)
    ? "android"
    : /darwin/.test(name)
      ? "darwin"
      : /win32|windows/.test(name)
        ? "win32"
        : /linux/.test(name)
          ? "linux"
          : /freebsd/.test(name)
            ? "freebsd"
            : undefined
  const cpu = /arm64|aarch64/.test(name)
    ? "arm64"
    : /x64|-64$|x86_64/.test(name)
      ? "x64"
      : /ia32/.test(name)
        ? "ia32"
        : /arm/.test(name)
          ? "arm"
          : undefined
  if (os === undefined || cpu === undefined) return undefined
  return { os: [os], cpu: [cpu], ...(/musl/.test(name) ? { libc: ["musl"] } : {}) }
}

const added = []
for (const entry of Object.values(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const path = `node_modules/${name}`
    if (lock.packages[path] !== undefined) continue
    const platform = platformOf(name)
    if (platform === undefined) continue
    lock.packages[path] = { version, ...(entry.dev ? { dev: true } : {}), optional: true, ...platform }
    added.push(`${name}@${version}`)
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b)))
)
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`)
console.log(
  added.length === 0 ? "package-lock.json already lists every platform build" : `Recorded ${added.join(", ")}`
)
