/**
 * A real Better Auth server for the sign-in suites: better-auth with its JWT plugin, email
 * and password accounts kept in memory, served over node:http with the CORS answers a
 * browser app on another origin needs (credentials included), as a deployment would.
 */
import * as Http from "node:http"
import { betterAuth } from "better-auth"
import { memoryAdapter } from "better-auth/adapters/memory"
import { toNodeHandler } from "better-auth/node"
import { jwt } from "better-auth/plugins"

export interface BetterAuthServer {
  readonly url: string
  /** Creates an account that can sign in with email and password. */
  readonly signUp: (user: { email: string; password: string; name: string }) => Promise<void>
  readonly close: () => Promise<void>
}

/** Listens on `port` (known in advance: it is Better Auth's issuer) and trusts the app at `appOrigin`. */
export const start = async (options: {
  readonly port: number
  readonly appOrigin: string
  /** Token lifetime, as Better Auth's JWT plugin takes it (default 15 minutes). */
  readonly tokenLifetime?: string
}): Promise<BetterAuthServer> => {
  const url = `http://127.0.0.1:${options.port}`
  const auth = betterAuth({
    baseURL: url,
    secret: "better-auth-test-secret-0123456789abcdef",
    database: memoryAdapter({ user: [], session: [], account: [], verification: [], jwks: [] }),
    emailAndPassword: { enabled: true },
    trustedOrigins: [options.appOrigin],
    plugins: [jwt({ jwt: { expirationTime: options.tokenLifetime ?? "15m" } })],
    telemetry: { enabled: false }
  })
  const handler = toNodeHandler(auth)
  const server = Http.createServer((request, response) => {
    if (request.headers.origin === options.appOrigin) {
      response.setHeader("access-control-allow-origin", options.appOrigin)
      response.setHeader("access-control-allow-credentials", "true")
      response.setHeader("access-control-allow-headers", "content-type, authorization")
      response.setHeader("access-control-allow-methods", "GET, POST, OPTIONS")
      response.setHeader("vary", "origin")
    }
    if (request.method === "OPTIONS") {
      response.writeHead(204).end()
      return
    }
    void handler(request, response)
  })
  await new Promise<void>((resolve) => server.listen(options.port, "127.0.0.1", resolve))
  return {
    url,
    signUp: async (user) => {
      await auth.api.signUpEmail({ body: user })
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
