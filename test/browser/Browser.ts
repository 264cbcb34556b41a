/**
 * Chromium for the browser suites: Debian's build driven by playwright-core (no browser
 * download), headless, with background networking off since the machine has no internet,
 * on a fresh profile. Also the accessibility check (axe-core, run inside the page) and the
 * screenshots, written under `test/browser/screenshots/` for people to look at.
 */
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { type BrowserContext, chromium, type Page } from "playwright-core"

/** Debian's Chromium, which `.ci/run` installs. */
export const CHROMIUM = "/usr/bin/chromium"
export const SCREENSHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url))

const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage"
]

export interface Launched {
  readonly context: BrowserContext
  readonly close: () => Promise<void>
}

/** A headless Chromium on a profile of its own, removed when closed. */
export const launch = async (): Promise<Launched> => {
  const profile = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-chromium-"))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 800 }
  })
  // Well under the test timeout, so a missing element fails with its own message.
  context.setDefaultTimeout(10_000)
  return {
    context,
    close: async () => {
      await context.close()
      Fs.rmSync(profile, { recursive: true, force: true })
    }
  }
}

const axeSource = Fs.readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8")

export interface Violation {
  readonly id: string
  readonly impact: string | null
  readonly help: string
  readonly nodes: ReadonlyArray<string>
}

/** The serious and critical accessibility violations on the page as it is now. */
export const seriousViolations = async (page: Page): Promise<ReadonlyArray<Violation>> => {
  // Evaluated by the browser's debugging protocol, so the page's content security policy
  // (which rightly refuses injected scripts) does not stop it.
  await page.evaluate(axeSource)
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (root: Document) => Promise<{
            violations: Array<{
              id: string
              impact: string | null
              help: string
              nodes: Array<{ target: Array<unknown> }>
            }>
          }>
        }
      }
    ).axe
    const result = await axe.run(document)
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((node) => node.target.join(" "))
    }))
  })
  return violations.filter((violation) => violation.impact === "serious" || violation.impact === "critical")
}

export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  narrow: { width: 375, height: 740 }
} as const

/** Screenshots of the page at both sizes in both colour schemes, each checked by axe too. */
export const captureViews = async (
  page: Page,
  view: string,
  /** Brings the view up after a resize (on a narrow screen the chat is behind a tab). */
  show: (page: Page) => Promise<void> = async () => {}
): Promise<ReadonlyArray<Violation>> => {
  Fs.mkdirSync(SCREENSHOTS, { recursive: true })
  const found: Array<Violation> = []
  for (const [size, viewport] of Object.entries(VIEWPORTS)) {
    for (const colorScheme of ["light", "dark"] as const) {
      await page.setViewportSize(viewport)
      await page.emulateMedia({ colorScheme })
      await show(page)
      await page.screenshot({
        path: Path.join(SCREENSHOTS, `${view}-${size}-${colorScheme}.png`),
        fullPage: true
      })
      found.push(...(await seriousViolations(page)))
    }
  }
  await page.setViewportSize(VIEWPORTS.desktop)
  await page.emulateMedia({ colorScheme: "light" })
  return found
}
