/**
 * Signing in to the web app through a real Better Auth server: email and password, then the
 * JWT from Better Auth's token endpoint, which Taskport verifies against Better Auth's key
 * set; the short-lived token is renewed before it expires; signing out ends the session.
 */

import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as BetterAuth from "@taskport/test-support/BetterAuthServer"
import { freePort } from "@taskport/test-support/FreePort"
import { killAll, type Started, start } from "@taskport/test-support/ServerProcess"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { captureViews, type Launched, launch } from "./Browser.ts"

const root = fileURLToPath(new URL("../..", import.meta.url))
const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-web-auth-"))

let auth: BetterAuth.BetterAuthServer
let server: Started
let browser: Launched

beforeAll(async () => {
  execFileSync(process.execPath, [Path.join(root, "packages/web/scripts/build.ts")], { stdio: "inherit" })
  // Each names the other: Better Auth trusts the app's origin, Taskport trusts Better Auth.
  const appPort = await freePort()
  // A lifetime just over the app's one-minute renewal margin, so renewal comes within seconds.
  auth = await BetterAuth.start({
    port: await freePort(),
    appOrigin: `http://127.0.0.1:${appPort}`,
    tokenLifetime: "63s"
  })
  await auth.signUp({ email: "ada@example.com", password: "correct horse battery", name: "Ada Lovelace" })
  ;[server, browser] = await Promise.all([
    start(dataDir, root, {
      PORT: String(appPort),
      BETTER_AUTH_URL: auth.url,
      BETTER_AUTH_ISSUER: auth.url,
      BETTER_AUTH_AUDIENCE: auth.url
    }),
    launch()
  ])
})

afterAll(async () => {
  await browser?.close()
  killAll()
  await auth?.close()
  Fs.rmSync(dataDir, { recursive: true, force: true })
})

describe("signing in through Better Auth", () => {
  it("U12: email and password sign in, the token is renewed before it expires, and sign-out ends the session", async () => {
    const page = await browser.context.newPage()
    await page.goto(`${server.base}/`)
    const csp = (await page.request.get(`${server.base}/`)).headers()["content-security-policy"] ?? ""
    expect(csp).toContain(`connect-src 'self' ${auth.url}`)
    await page.getByRole("heading", { name: "Sign in" }).waitFor()
    await captureViews(page, "sign-in-better-auth").then((violations) => expect(violations).toEqual([]))

    await page.getByLabel("Email").fill("ada@example.com")
    await page.getByLabel("Password").fill("wrong password")
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByRole("alert").waitFor()
    expect(await page.getByLabel("Password").isVisible()).toBe(true)

    await page.getByLabel("Password").fill("correct horse battery")
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByText("Signed in as").waitFor()
    expect(await page.locator(".identity").textContent()).toContain("Ada Lovelace (ada@example.com)")
    const firstToken = await page.evaluate(() => localStorage.getItem("taskport.token"))

    // The task list works with Better Auth's token, for Better Auth's user.
    await page.getByRole("form", { name: "Add a task" }).getByLabel("New task").fill("Write the notes")
    await page.getByRole("form", { name: "Add a task" }).getByRole("button", { name: "Add" }).click()
    await page.locator("li.task", { hasText: "Write the notes" }).waitFor()

    // Renewal: the app asks Better Auth for the next token before this one expires.
    await page.waitForRequest((request) => request.url() === `${auth.url}/api/auth/token`, {
      timeout: 20_000
    })
    await expect
      .poll(() => page.evaluate(() => localStorage.getItem("taskport.token")), { timeout: 10_000 })
      .not.toBe(firstToken)
    await page.reload()
    await page.locator("li.task", { hasText: "Write the notes" }).waitFor()

    await page.getByRole("button", { name: "Sign out" }).click()
    await page.getByRole("heading", { name: "Sign in" }).waitFor()
    // The Better Auth session is gone too: a reload does not sign in again.
    await page.reload()
    await page.getByRole("heading", { name: "Sign in" }).waitFor()
    expect(await page.evaluate(() => localStorage.getItem("taskport.token"))).toBeNull()
    await page.close()
  }, 60_000)
})
