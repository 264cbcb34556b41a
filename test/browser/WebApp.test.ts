/**
 * The web app in a real browser against a real `taskport serve`: served files and their
 * headers, sign-in by the dev link, the task journeys (add, edit, complete, reopen, delete,
 * filter, search, a conflict from a second tab, undo and the trash, changes made elsewhere
 * arriving live), a chat turn that creates
 * a task, the agent's question before a delete answered by Confirm or Cancel, the error
 * paths, keyboard use and the accessibility check on each main view, with screenshots.
 */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { freePort } from "@taskport/test-support/FreePort"
import { killAll, type Started, start } from "@taskport/test-support/ServerProcess"
import type { Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { captureViews, type Launched, launch, SCREENSHOTS, seriousViolations, VIEWPORTS } from "./Browser.ts"

const root = fileURLToPath(new URL("../..", import.meta.url))

let server: Started
let browser: Launched
const dataDirs: Array<string> = []
const tempDir = () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-web-"))
  dataDirs.push(dir)
  return dir
}

beforeAll(async () => {
  // The suite needs the built app; the build script does nothing when it is up to date.
  execFileSync(process.execPath, [Path.join(root, "packages/web/scripts/build.ts")], { stdio: "inherit" })
  ;[server, browser] = await Promise.all([start(tempDir(), root, { LOG_LEVEL: "info" }), launch()])
})

afterAll(async () => {
  await browser?.close()
  killAll()
  for (const dir of dataDirs) Fs.rmSync(dir, { recursive: true, force: true })
})

const devLink = () => /Open the web app signed in: (\S+)/.exec(server.output())?.[1] ?? ""

/** A page signed in by the dev link, showing the task list. */
const signedInPage = async (): Promise<Page> => {
  const page = await browser.context.newPage()
  await page.goto(devLink())
  await page.getByRole("heading", { name: "Tasks" }).waitFor()
  return page
}

/** On a narrow screen the chat sits behind its tab. */
const showChat = async (page: Page) => {
  const tab = page.getByRole("navigation", { name: "Views" }).getByRole("button", { name: "Chat" })
  if (await tab.isVisible()) await tab.click()
}

const addForm = (page: Page) => page.getByRole("form", { name: "Add a task" })
const taskRow = (page: Page, title: string) => page.locator("li.task", { hasText: title })

const addTask = async (page: Page, title: string, extra: { due?: string; tags?: string } = {}) => {
  const form = addForm(page)
  await form.getByLabel("New task").fill(title)
  if (extra.due !== undefined) await form.getByLabel("Due").fill(extra.due)
  if (extra.tags !== undefined) await form.getByLabel("Tags").fill(extra.tags)
  await form.getByRole("button", { name: "Add" }).click()
  await taskRow(page, title).waitFor()
}

/** The task as the API answers it now: 404 while it is in the trash. */
const readTask = (id: number) =>
  fetch(`${server.base}/api/v1/tasks/${id}`, { headers: { authorization: `Bearer ${server.token}` } })

/** A task made through the API, for the chat to act on. */
const createTask = async (title: string): Promise<number> => {
  const response = await fetch(`${server.base}/api/v1/tasks`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
    body: JSON.stringify({ title })
  })
  return ((await response.json()) as { id: number }).id
}

/** Sends a chat message and waits for the streamed turn to end. */
const say = async (page: Page, message: string) => {
  const answered = page.waitForResponse(
    (response) => response.url().endsWith("/api/v1/chat") && response.request().method() === "POST"
  )
  const box = page.getByLabel("Message to the agent")
  await box.fill(message)
  await box.press("Enter")
  await (await answered).finished()
}

const pendingBox = (page: Page) => page.getByRole("group", { name: "The agent asks before doing this" })

describe("the web app at /", () => {
  it("U1: / and the hashed assets are served with their types, caching and a content security policy", async () => {
    const page = await fetch(`${server.base}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(page.headers.get("cache-control")).toBe("no-cache")
    const csp = page.headers.get("content-security-policy") ?? ""
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("default-src 'none'")
    expect(csp).not.toContain("unsafe-inline")
    const html = await page.text()
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1] ?? "")
    expect(assets.some((asset) => asset.endsWith(".js"))).toBe(true)
    expect(assets.some((asset) => asset.endsWith(".css"))).toBe(true)
    for (const asset of assets) {
      const response = await fetch(`${server.base}${asset}`)
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toMatch(
        asset.endsWith(".js") ? /^text\/javascript/ : /^text\/css/
      )
      expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
    }
    // Nothing outside this origin is referenced: the app works offline.
    expect(html).not.toMatch(/https?:\/\//)
    const missing = await fetch(`${server.base}/assets/nope.js`)
    expect(missing.status).toBe(404)
  })

  it("U2: without a token the app asks for one; the dev link signs in and leaves no token in the address or the request log", async () => {
    const page = await browser.context.newPage()
    await page.goto(`${server.base}/`)
    await page.evaluate(() => localStorage.clear())
    await page.reload()
    await page.getByRole("heading", { name: "Sign in" }).waitFor()
    expect(await page.getByLabel("Token").isVisible()).toBe(true)
    const violations = await captureViews(page, "sign-in")
    expect(violations).toEqual([])

    expect(devLink()).toMatch(/#token=/)
    await page.goto(devLink())
    await page.getByText("Signed in as").waitFor()
    expect(await page.getByText("Signed in as").textContent()).toContain("demo")
    expect(page.url()).toBe(`${server.base}/`)
    const token = server.token
    const requestLines = server
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
    expect(requestLines.some((line) => line.includes('"path":"/"'))).toBe(true)
    expect(requestLines.some((line) => line.includes(token))).toBe(false)

    // Signing out forgets the token.
    await page.getByRole("button", { name: "Sign out" }).click()
    await page.getByRole("heading", { name: "Sign in" }).waitFor()
    await page.reload()
    await page.getByRole("heading", { name: "Sign in" }).waitFor()
    await page.getByLabel("Token").fill(token)
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByText("Signed in as").waitFor()
    await page.close()
  })

  it("U3: a task is added, edited in every field, completed, reopened and deleted", async () => {
    const page = await signedInPage()
    await addTask(page, "Buy oat milk", { due: "2026-12-01", tags: "Shop, home" })
    const row = taskRow(page, "Buy oat milk")
    expect(await row.textContent()).toContain("#shop")
    expect(await row.textContent()).toContain("#home")

    await row.getByRole("button", { name: /^Edit/ }).click()
    const form = page.getByRole("form", { name: "Edit “Buy oat milk”" })
    await form.getByLabel("Title").fill("Buy oat milk and bread")
    await form.getByLabel("Description").fill("From the corner shop")
    await form.getByLabel("Due").fill("2026-12-02T09:00[Europe/Paris]")
    await form.getByLabel("Priority").selectOption("high")
    await form.getByLabel("Tags").fill("shop")
    await form.getByRole("button", { name: "Save" }).click()
    const edited = taskRow(page, "Buy oat milk and bread")
    await edited.getByText("From the corner shop").waitFor()
    const text = (await edited.textContent()) ?? ""
    expect(text).toContain("high")
    expect(text).not.toContain("#home")
    const id = Number(/#(\d+)/.exec((await edited.locator(".muted").last().textContent()) ?? "")?.[1])
    const stored = (await (
      await fetch(`${server.base}/api/v1/tasks/${id}`, {
        headers: { authorization: `Bearer ${server.token}` }
      })
    ).json()) as Record<string, unknown>
    expect(stored).toMatchObject({
      title: "Buy oat milk and bread",
      description: "From the corner shop",
      due: "2026-12-02T09:00:00.000+01:00[Europe/Paris]",
      priority: "high",
      tags: ["shop"],
      version: 2
    })

    await edited.getByRole("checkbox", { name: "Complete “Buy oat milk and bread”" }).check()
    await edited.getByRole("checkbox", { name: "Reopen “Buy oat milk and bread”" }).waitFor()
    expect(await edited.getAttribute("class")).toContain("done")
    await edited.getByRole("checkbox", { name: "Reopen “Buy oat milk and bread”" }).uncheck()
    await edited.getByRole("checkbox", { name: "Complete “Buy oat milk and bread”" }).waitFor()

    // Complete and at once reopen, with the first answer arriving last, and any read of the
    // task the page makes meanwhile (the events stream reports the first change) answered late
    // too, with what the task was when it was read: the row keeps the second click, as the
    // server does.
    let release = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let answered = 0
    await page.route("**/api/v1/tasks/*/complete", async (route) => {
      const response = await route.fetch()
      if (answered++ === 0) await held
      await route.fulfill({ response })
    })
    await page.route(`**/api/v1/tasks/${id}`, async (route) => {
      if (route.request().method() !== "GET") return route.fallback()
      const response = await route.fetch()
      await held
      await route.fulfill({ response })
    })
    await edited.getByRole("checkbox", { name: "Complete “Buy oat milk and bread”" }).check()
    await edited.getByRole("checkbox", { name: "Reopen “Buy oat milk and bread”" }).uncheck()
    await expect.poll(() => answered).toBe(2)
    const late = page.waitForEvent("requestfinished", (request) => request.url().endsWith("/complete"))
    release()
    await late
    // Let the page handle the late answer before looking.
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)))
    expect(await edited.getByRole("checkbox").isChecked()).toBe(false)
    await page.unroute("**/api/v1/tasks/*/complete")
    await page.unroute(`**/api/v1/tasks/${id}`)
    const reopened = (await (
      await fetch(`${server.base}/api/v1/tasks/${id}`, {
        headers: { authorization: `Bearer ${server.token}` }
      })
    ).json()) as Record<string, unknown>
    expect(reopened).toMatchObject({ completed: false, version: 6 })

    await captureViews(page, "tasks").then((violations) => expect(violations).toEqual([]))

    await edited.getByRole("button", { name: /^Delete/ }).click()
    await page.getByRole("status").getByText("Deleted “Buy oat milk and bread”.").waitFor()
    expect(await taskRow(page, "Buy oat milk and bread").count()).toBe(0)
    const gone = await fetch(`${server.base}/api/v1/tasks/${id}`, {
      headers: { authorization: `Bearer ${server.token}` }
    })
    expect(gone.status).toBe(404)
    await page.close()
  })

  it("U4: the list filters by status, due view, priority and tag, searches text, sorts, and loads further pages on scroll", async () => {
    const page = await signedInPage()
    const headers = { authorization: `Bearer ${server.token}`, "content-type": "application/json" }
    // Enough tasks for two pages (the app asks for 20 at a time).
    for (let index = 1; index <= 24; index++) {
      await fetch(`${server.base}/api/v1/tasks`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          title: `Filler ${String(index).padStart(2, "0")}`,
          tags: ["filler"],
          priority: index === 7 ? "high" : "low"
        })
      })
    }
    await page.reload()
    await page.getByRole("heading", { name: "Tasks" }).waitFor()
    await addTask(page, "Call the plumber about the leak", { tags: "house" })
    const filters = page.getByRole("search", { name: "Filter tasks" })

    await filters.getByLabel("Search").fill("plumber")
    await expect
      .poll(() => page.locator("li.task .task-title").allTextContents())
      .toEqual(["Call the plumber about the leak"])
    await filters.getByLabel("Search").fill("")

    await filters.getByLabel("Tag").fill("filler")
    await filters.getByLabel("Sort by").selectOption("title")
    await expect.poll(() => page.locator("li.task .task-title").first().textContent()).toBe("Filler 01")
    await expect.poll(() => page.locator("li.task").count()).toBe(20)
    await page.getByRole("button", { name: "Load more" }).scrollIntoViewIfNeeded()
    await expect.poll(() => page.locator("li.task").count()).toBe(24)
    expect(await page.getByRole("button", { name: "Load more" }).count()).toBe(0)

    await filters.getByLabel("Priority").selectOption("high")
    await expect.poll(() => page.locator("li.task .task-title").allTextContents()).toEqual(["Filler 07"])

    await filters.getByLabel("Priority").selectOption("")
    await taskRow(page, "Filler 03").getByRole("checkbox").check()
    await filters.getByLabel("Status").selectOption("completed")
    await expect.poll(() => page.locator("li.task .task-title").allTextContents()).toEqual(["Filler 03"])
    await filters.getByLabel("Status").selectOption("pending")
    await expect.poll(() => page.locator("li.task").count()).toBe(20)
    expect(await taskRow(page, "Filler 03").count()).toBe(0)

    // The due views: overdue is pending and due before now, upcoming is due after now.
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)
    for (const [title, due] of [
      ["Renew the lease", `${day(-1)}T12:00[UTC]`],
      ["Plan the party", `${day(1)}T12:00[UTC]`]
    ]) {
      await fetch(`${server.base}/api/v1/tasks`, {
        method: "POST",
        headers,
        body: JSON.stringify({ title, due })
      })
    }
    await filters.getByLabel("Status").selectOption("all")
    await filters.getByLabel("Tag").fill("")
    await filters.getByLabel("Due").selectOption("overdue")
    await expect
      .poll(() => page.locator("li.task .task-title").allTextContents())
      .toEqual(["Renew the lease"])
    await filters.getByLabel("Due").selectOption("upcoming")
    await expect.poll(() => page.locator("li.task .task-title").allTextContents()).toEqual(["Plan the party"])
    await page.close()
  })

  it("U5: a save over a change made in another tab shows the 412 clearly with the fresh version, and saving again applies", async () => {
    const first = await signedInPage()
    await addTask(first, "Water the plants")
    const second = await signedInPage()

    // A background tab gets no animation frames: act on the tab in front, as a person does.
    await first.bringToFront()
    await taskRow(first, "Water the plants").getByRole("button", { name: /^Edit/ }).click()
    await first
      .getByRole("form", { name: "Edit “Water the plants”" })
      .getByLabel("Description")
      .fill("Balcony too")

    await second.bringToFront()
    await taskRow(second, "Water the plants").getByRole("button", { name: /^Edit/ }).click()
    const otherForm = second.getByRole("form", { name: "Edit “Water the plants”" })
    await otherForm.getByLabel("Title").fill("Water the garden")
    await otherForm.getByRole("button", { name: "Save" }).click()
    await taskRow(second, "Water the garden").waitFor()

    // The form is named after the task, which now shows the other tab's title.
    await first.bringToFront()
    const form = first.getByRole("form", { name: /^Edit/ })
    await form.getByRole("button", { name: "Save" }).click()
    const alert = form.getByRole("alert")
    await alert.waitFor()
    const text = (await alert.textContent()) ?? ""
    expect(text).toContain("Someone else changed this task first")
    expect(text).toContain("version 2")
    expect(text).toContain("Water the garden")
    await captureViews(first, "conflict").then((violations) => expect(violations).toEqual([]))

    await form.getByRole("button", { name: "Save" }).click()
    await taskRow(first, "Water the garden").getByText("Balcony too").waitFor()
    await first.close()
    await second.close()
  })

  it("U16: changes made elsewhere show without a reload: a task created, renamed and deleted through the API", async () => {
    const page = await signedInPage()
    const headers = { authorization: `Bearer ${server.token}`, "content-type": "application/json" }
    const filters = page.getByRole("search", { name: "Filter tasks" })
    await filters.getByLabel("Search").fill("elsewhere")
    await expect.poll(() => page.locator("li.task").count()).toBe(0)

    const created = await fetch(`${server.base}/api/v1/tasks`, {
      method: "POST",
      headers,
      body: JSON.stringify({ title: "Made elsewhere" })
    })
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as { id: number }
    await taskRow(page, "Made elsewhere").waitFor()

    const renamed = await fetch(`${server.base}/api/v1/tasks/${id}`, {
      method: "PATCH",
      headers,
      body: JSON.stringify({ title: "Made elsewhere, renamed", priority: "high" })
    })
    expect(renamed.status).toBe(200)
    const row = taskRow(page, "Made elsewhere, renamed")
    await row.waitFor()
    expect(await row.textContent()).toContain("high")
    await page.screenshot({ path: Path.join(SCREENSHOTS, "tasks-live-update.png") })

    const deleted = await fetch(`${server.base}/api/v1/tasks/${id}`, { method: "DELETE", headers })
    expect(deleted.status).toBe(204)
    await expect.poll(() => page.locator("li.task").count()).toBe(0)
    await page.close()
  })

  it("U6: a chat turn streams, creates a task that then shows in the list, and links its tool call to the task", async () => {
    const page = await signedInPage()
    const streamed = page.waitForResponse(
      (response) => response.url().endsWith("/api/v1/chat") && response.request().method() === "POST"
    )
    const box = page.getByLabel("Message to the agent")
    await box.fill("add a task to book the dentist")
    await box.press("Enter")
    const response = await streamed
    expect(response.request().headers()["accept"]).toBe("text/event-stream")
    expect(response.headers()["content-type"]).toMatch(/^text\/event-stream/)
    const line = page.locator(".tool-line", { hasText: "Created" })
    await line.waitFor()
    await taskRow(page, "Book the dentist").waitFor()
    const conversation = page.getByRole("navigation", { name: "Conversations" })
    await conversation
      .locator(".conversation-title", { hasText: /add a task to book the dentist/i })
      .waitFor()
    await captureViews(page, "chat", showChat).then((violations) => expect(violations).toEqual([]))
    // The README's picture (docs/images/web-app.png is a copy of it): the window, not the whole list.
    await page.screenshot({ path: Path.join(SCREENSHOTS, "readme.png") })

    // On a narrow screen the link switches to the task list and focuses the task.
    await page.setViewportSize(VIEWPORTS.narrow)
    await showChat(page)
    const link = line.getByRole("link", { name: /task #\d+ “Book the dentist”/ })
    await link.click()
    await expect.poll(() => page.evaluate(() => document.activeElement?.id ?? "")).toMatch(/^task-\d+$/)
    expect(await taskRow(page, "Book the dentist").isVisible()).toBe(true)
    await page.setViewportSize(VIEWPORTS.desktop)

    await conversation
      .getByRole("button", { name: /^Rename/ })
      .first()
      .click()
    await conversation.getByLabel("New title").fill("Dentist")
    await conversation.getByLabel("New title").press("Enter")
    await conversation.locator(".conversation-title", { hasText: "Dentist" }).waitFor()

    await conversation
      .getByRole("button", { name: /^Delete conversation/ })
      .first()
      .click()
    await page
      .getByRole("status")
      .getByText(/Deleted the conversation/)
      .waitFor()
    await page.close()
  })

  it("U7: bad input is explained naming the field, and the keyboard alone adds a task with focus visible", async () => {
    const page = await signedInPage()
    const form = addForm(page)
    await form.getByLabel("New task").fill("Pay rent")
    await form.getByLabel("Due").fill("someday soon")
    await form.getByRole("button", { name: "Add" }).click()
    const error = form.getByRole("alert")
    await error.waitFor()
    expect(await error.textContent()).toMatch(/^due: /)
    expect(await taskRow(page, "Pay rent").count()).toBe(0)
    await form.getByLabel("Due").fill("")

    await page.keyboard.press("Tab")
    await form.getByLabel("New task").focus()
    await page.keyboard.press("Control+A")
    await page.keyboard.type("Renew passport")
    await page.keyboard.press("Enter")
    await taskRow(page, "Renew passport").waitFor()
    // Tab onward from the title: the focused control gets a visible outline.
    await form.getByLabel("New task").focus()
    await page.keyboard.press("Tab")
    const outline = await page.evaluate(() => {
      const element = document.activeElement
      return element === null ? "" : getComputedStyle(element).outlineStyle
    })
    expect(outline).toBe("solid")
    expect(await seriousViolations(page)).toEqual([])
    await page.close()
  })

  it("U13: a delete is undone from its notice and the task is back; a delete left alone stays gone after reload; the trash restores", async () => {
    const spec = (await (await fetch(`${server.base}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>
    }
    expect(spec.paths["/api/v1/tasks/{id}/restore"]?.post).toBeDefined()

    const page = await signedInPage()
    await addTask(page, "Undo me soon")
    await taskRow(page, "Undo me soon")
      .getByRole("button", { name: /^Delete/ })
      .click()
    const notice = page.getByRole("status")
    await notice.getByText("Deleted “Undo me soon”.").waitFor()
    expect(await taskRow(page, "Undo me soon").count()).toBe(0)
    await notice.getByRole("button", { name: "Undo" }).click()
    await notice.getByText("Restored “Undo me soon”.").waitFor()
    await taskRow(page, "Undo me soon").waitFor()
    const id = Number(
      /#(\d+)/.exec((await taskRow(page, "Undo me soon").locator(".muted").last().textContent()) ?? "")?.[1]
    )
    const restored = (await (await readTask(id)).json()) as Record<string, unknown>
    expect(restored).toMatchObject({ title: "Undo me soon", version: 2 })

    await addTask(page, "Gone for good")
    await taskRow(page, "Gone for good")
      .getByRole("button", { name: /^Delete/ })
      .click()
    await notice.getByText("Deleted “Gone for good”.").waitFor()
    await page.reload()
    await page.getByRole("heading", { name: "Tasks" }).waitFor()
    await taskRow(page, "Undo me soon").waitFor()
    expect(await taskRow(page, "Gone for good").count()).toBe(0)

    // The trash lists it, and Restore brings it back to the list.
    const filters = page.getByRole("search", { name: "Filter tasks" })
    await filters.getByLabel("Status").selectOption("trashed")
    const trashed = taskRow(page, "Gone for good")
    await trashed.waitFor()
    expect(await taskRow(page, "Undo me soon").count()).toBe(0)
    await captureViews(page, "trash").then((violations) => expect(violations).toEqual([]))
    await trashed.getByRole("button", { name: "Restore “Gone for good”" }).click()
    await notice.getByText("Restored “Gone for good”.").waitFor()
    expect(await taskRow(page, "Gone for good").count()).toBe(0)
    await filters.getByLabel("Status").selectOption("all")
    await taskRow(page, "Gone for good").waitFor()
    await page.close()
  })

  it("U14: when the agent asks before a delete, Confirm deletes (the list follows) and Cancel keeps the task; the buttons go once answered", async () => {
    const page = await signedInPage()
    const doomed = await createTask("Shred old receipts")
    const kept = await createTask("Keep the warranty")
    await page.reload()
    await taskRow(page, "Shred old receipts").waitFor()

    await say(page, `delete task ${doomed}`)
    const box = pendingBox(page)
    await box.waitFor()
    expect(await box.textContent()).toContain(`Delete task ${doomed} 'Shred old receipts'?`)
    await page.locator(".tool-line", { hasText: "Asked before deleting" }).waitFor()
    // Nothing is done until it is answered.
    expect((await readTask(doomed)).status).toBe(200)
    await captureViews(page, "chat-pending", showChat).then((violations) => expect(violations).toEqual([]))

    const sent = page.waitForRequest((request) => request.url().endsWith("/api/v1/chat"))
    await box.getByRole("button", { name: "Confirm" }).click()
    const body = JSON.parse((await sent).postData() ?? "{}") as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(["confirm", "conversation_id"])
    await page.locator(".message.assistant", { hasText: `Done: Delete task ${doomed}` }).waitFor()
    await expect.poll(() => taskRow(page, "Shred old receipts").count()).toBe(0)
    expect(await pendingBox(page).count()).toBe(0)
    expect((await readTask(doomed)).status).toBe(404)

    await say(page, `delete task ${kept}`)
    await pendingBox(page).waitFor()
    const declined = page.waitForRequest((request) => request.url().endsWith("/api/v1/chat"))
    await pendingBox(page).getByRole("button", { name: "Cancel" }).click()
    expect(Object.keys(JSON.parse((await declined).postData() ?? "{}") as object).sort()).toEqual([
      "conversation_id",
      "decline"
    ])
    await page.locator(".message.assistant", { hasText: "OK, I did not do it" }).waitFor()
    expect(await pendingBox(page).count()).toBe(0)
    expect((await readTask(kept)).status).toBe(200)
    await taskRow(page, "Keep the warranty").waitFor()
    await page.close()
  })

  it("U15: an unanswered confirmation's buttons go when it expires, and nothing is deleted", async () => {
    const page = await browser.context.newPage()
    // The page's own clock, so fifteen minutes pass at once; the server's clock is real.
    await page.clock.install()
    await page.goto(devLink())
    await page.getByRole("heading", { name: "Tasks" }).waitFor()
    const id = await createTask("Let this one lapse")
    await say(page, `delete task ${id}`)
    await pendingBox(page).waitFor()
    await page.clock.fastForward("16:00")
    await page
      .getByRole("status")
      .getByText(/The confirmation expired/)
      .waitFor()
    expect(await pendingBox(page).count()).toBe(0)
    expect((await readTask(id)).status).toBe(200)
    await page.close()
  })

  it("U11: when the model fails the chat says the message was kept and offers a retry", async () => {
    // Nothing listens on a port just found free: the model behind it refuses every connection.
    const closed = await freePort()
    const failing = await start(tempDir(), root, {
      OPENAI_API_KEY: "sk-test-not-a-key",
      OPENAI_BASE_URL: `http://127.0.0.1:${closed}/v1`,
      OPENAI_MAX_RETRIES: "0"
    })
    const link = /Open the web app signed in: (\S+)/.exec(failing.output())?.[1] ?? ""
    const page = await browser.context.newPage()
    await page.goto(link)
    await page.getByRole("heading", { name: "Chat" }).waitFor()
    const box = page.getByLabel("Message to the agent")
    await box.fill("add a task to call the bank")
    await page.getByRole("button", { name: "Send" }).click()
    const alert = page.locator(".chat-error")
    await alert.waitFor()
    expect(await alert.textContent()).toContain("Your message was kept")
    // The kept message is shown in its conversation.
    await page.locator(".message.user", { hasText: "add a task to call the bank" }).waitFor()
    await captureViews(page, "chat-error", showChat).then((violations) => expect(violations).toEqual([]))
    const retried = page.waitForResponse((response) => response.url().endsWith("/api/v1/chat"))
    await alert.getByRole("button", { name: "Retry" }).click()
    expect((await retried).status()).toBe(503)
    await alert.waitFor()
    const stored = (await (
      await fetch(`${failing.base}/api/v1/conversations`, {
        headers: { authorization: `Bearer ${failing.token}` }
      })
    ).json()) as { items: Array<unknown> }
    expect(stored.items).toHaveLength(1)
    await page.close()
    failing.child.kill("SIGTERM")
  })
})
