/**
 * The agent behind the chat: an OpenAI-compatible model when a key or a base URL is set
 * (local servers such as Ollama need no key), else the offline command interpreter. The
 * `openai` client is loaded only in the first case: it adds a quarter of a second and some
 * 30 MB to a start that does not use it.
 */
import * as OfflineAgentRunner from "@taskport/agent/OfflineAgentRunner"
import type { AgentRunner } from "@taskport/core"
import { Effect, Layer, Option, Redacted } from "effect"
import * as Announce from "./Announce.ts"
import type { ServerConfig } from "./ServerConfig.ts"

export const layer = (
  config: ServerConfig,
  announce: Announce.Announce = Announce.stderr
): Layer.Layer<AgentRunner> => {
  if (Option.isNone(config.openAiApiKey) && Option.isNone(config.openAiBaseUrl)) {
    announce("Chat: offline command interpreter (set OPENAI_API_KEY to use a model)")
    return OfflineAgentRunner.layer
  }
  const model = Option.getOrUndefined(config.openAiModel)
  return Layer.unwrap(
    Effect.map(
      Effect.promise(() => import("@taskport/agent/OpenAiAgentRunner")),
      (OpenAiAgentRunner) => {
        announce(
          `Chat: model ${model ?? OpenAiAgentRunner.DEFAULT_MODEL}${Option.match(config.openAiBaseUrl, { onNone: () => "", onSome: (url) => ` at ${url}` })}`
        )
        return OpenAiAgentRunner.layer({
          apiKey: Option.getOrElse(config.openAiApiKey, () =>
            Redacted.make("not-needed")
          ) as Redacted.Redacted<string>,
          model,
          baseURL: Option.getOrUndefined(config.openAiBaseUrl),
          api: config.openAiApi,
          timeoutMs: config.openAiTimeoutMs,
          maxSteps: config.openAiMaxSteps,
          maxRetries: config.openAiMaxRetries,
          useEnvProxy: config.useEnvProxy,
          maxTokensPerTurn: config.chatMaxTokensPerTurn
        })
      }
    )
  )
}
