/**
 * The routes a browser client needs besides tasks and turns: one conversation read on its
 * own, its title changed, and the verified identity behind the token (`/api/v1/auth/me`),
 * each with its 4xx rules and its place in the OpenAPI document.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { PgDatabase } from "@taskport/postgres"
import { makeOpenApi } from "@taskport/rest"
import { makeApp, send, servicesLayer, TEST_SECRET, tokenFor } from "@taskport/test-support/RestHarness"
import { newUser } from "@taskport/test-support/Users"
import { Effect, Redacted } from "effect"
import { SignJWT } from "jose"

type Json = Record<string, unknown>
const asJson = (value: unknown) => value as Json

describe("conversation and identity routes", () => {
  layer(servicesLayer(PgDatabase.layerPglite()), { timeout: 120_000 })((it) => {
    it.effect(
      "U8: a conversation is read on its own and renamed; bad titles and other users are refused",
      () =>
        Effect.gen(function* () {
          const app = yield* makeApp()
          const user = newUser()
          const token = yield* tokenFor(user)
          const turn = yield* send(app, "POST", "/api/v1/chat", {
            token,
            body: { message: "add a task to rest" }
          })
          const id = asJson(turn.body).conversation_id as string

          const read = yield* send(app, "GET", `/api/v1/conversations/${id}`, { token })
          expect(read.status).toBe(200)
          expect(read.body).toMatchObject({ id, title: "add a task to rest" })
          const before = asJson(read.body)

          const renamed = yield* send(app, "PATCH", `/api/v1/conversations/${id}`, {
            token,
            body: { title: "  Rest and errands  " }
          })
          expect(renamed.status).toBe(200)
          expect(renamed.body).toMatchObject({ id, title: "Rest and errands", updated_at: before.updated_at })
          const again = yield* send(app, "GET", `/api/${user}/conversations/${id}`, { token })
          expect(asJson(again.body).title).toBe("Rest and errands")
          const listed = yield* send(app, "GET", "/api/v1/conversations", { token })
          expect((asJson(listed.body).items as Array<Json>)[0]).toMatchObject({
            id,
            title: "Rest and errands"
          })

          for (const body of [{ title: "   " }, { title: "x".repeat(81) }, {}, { title: "ok", extra: 1 }]) {
            const bad = yield* send(app, "PATCH", `/api/v1/conversations/${id}`, { token, body })
            expect(bad.status, JSON.stringify(body)).toBe(400)
            expect(JSON.stringify(bad.body)).toMatch(/title|extra/)
          }
          const badId = yield* send(app, "GET", "/api/v1/conversations/42", { token })
          expect(badId.status).toBe(400)

          const stranger = yield* tokenFor(newUser())
          const hidden = yield* send(app, "GET", `/api/v1/conversations/${id}`, { token: stranger })
          expect(hidden.status).toBe(404)
          const refused = yield* send(app, "PATCH", `/api/v1/conversations/${id}`, {
            token: stranger,
            body: { title: "mine now" }
          })
          expect(refused.status).toBe(404)
          expect(asJson((yield* send(app, "GET", `/api/v1/conversations/${id}`, { token })).body).title).toBe(
            "Rest and errands"
          )
          const forbidden = yield* send(app, "GET", `/api/${newUser()}/conversations/${id}`, { token })
          expect(forbidden.status).toBe(403)
        })
    )

    it.effect(
      "U9: GET /api/v1/auth/me names the token's user, its name and email claims and its expiry",
      () =>
        Effect.gen(function* () {
          const app = yield* makeApp()
          const user = newUser()
          const exp = Math.floor(Date.now() / 1000) + 600
          const token = yield* Effect.promise(() =>
            new SignJWT({ name: "Ada Lovelace", email: "ada@example.com" })
              .setProtectedHeader({ alg: "HS256" })
              .setSubject(user)
              .setIssuedAt()
              .setExpirationTime(exp)
              .sign(new TextEncoder().encode(Redacted.value(TEST_SECRET)))
          )
          const me = yield* send(app, "GET", "/api/v1/auth/me", { token })
          expect(me.status).toBe(200)
          expect(me.body).toEqual({
            user_id: user,
            name: "Ada Lovelace",
            email: "ada@example.com",
            expires_at: new Date(exp * 1000).toISOString()
          })
          const plain = yield* send(app, "GET", "/api/v1/auth/me", { token: yield* tokenFor(user) })
          expect(plain.body).toMatchObject({ user_id: user, name: null, email: null })
          const anonymous = yield* send(app, "GET", "/api/v1/auth/me")
          expect(anonymous.status).toBe(401)
          const forged = yield* send(app, "GET", "/api/v1/auth/me", { token: `${token.slice(0, -4)}AAAA` })
          expect(forged.status).toBe(401)
        })
    )
  })

  it("U10: the OpenAPI document describes reading and renaming a conversation and the identity route", () => {
    const document = makeOpenApi() as { paths: Record<string, Record<string, Json>> }
    const conversation = document.paths["/api/v1/conversations/{id}"] ?? {}
    expect(Object.keys(conversation).sort()).toEqual(["delete", "get", "patch"])
    expect(JSON.stringify(conversation.patch)).toContain("RenameConversation")
    expect(document.paths["/api/{user_id}/conversations/{id}"]?.patch).toBeDefined()
    const me = document.paths["/api/v1/auth/me"]?.get
    expect(JSON.stringify(me)).toContain("Identity")
  })
})
