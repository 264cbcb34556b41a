/** Whether model requests are left to the platform's fetch, read from the environment as Node reads it. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ServerConfig from "../src/ServerConfig.ts"

describe("NODE_USE_ENV_PROXY", () => {
  it.effect(
    "C31: only '1' sends model requests through the environment's proxy, and a stray value is not an error",
    () =>
      Effect.gen(function* () {
        expect((yield* ServerConfig.read({})).useEnvProxy).toBe(false)
        expect((yield* ServerConfig.read({ NODE_USE_ENV_PROXY: "1" })).useEnvProxy).toBe(true)
        expect((yield* ServerConfig.read({ NODE_USE_ENV_PROXY: "true" })).useEnvProxy).toBe(false)
        expect((yield* ServerConfig.read({ NODE_USE_ENV_PROXY: "0" })).useEnvProxy).toBe(false)
      })
  )
})
