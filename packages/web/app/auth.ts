/**
 * How the app gets a token. In order: a token in the page's fragment (the dev-mode link;
 * the fragment never reaches the server), one kept from an earlier visit, or a sign-in:
 * through Better Auth when the server names it as its authorization server (RFC 9728
 * metadata, part of the public API), otherwise by pasting a token.
 */

const STORAGE_KEY = "taskport.token"

/** Reads `#token=…` from the address, keeps it and removes it from the address bar and history. */
export const tokenFromFragment = (): string | undefined => {
  const params = new URLSearchParams(window.location.hash.slice(1))
  const token = params.get("token") ?? undefined
  if (token !== undefined) {
    history.replaceState(null, "", window.location.pathname + window.location.search)
    storeToken(token)
  }
  return token
}

export const storedToken = (): string | undefined => localStorage.getItem(STORAGE_KEY) ?? undefined
export const storeToken = (token: string) => localStorage.setItem(STORAGE_KEY, token)
export const forgetToken = () => localStorage.removeItem(STORAGE_KEY)

/** The `exp` claim of a JWT in milliseconds, read without verifying (the server verifies). */
export const expiryOf = (token: string): number | undefined => {
  try {
    const payload = token.split(".")[1] ?? ""
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"))
    const exp = (JSON.parse(json) as { exp?: unknown }).exp
    return typeof exp === "number" ? exp * 1000 : undefined
  } catch {
    return undefined
  }
}

/** The Better Auth server this API trusts, from its protected-resource metadata. */
export const discoverAuthServer = async (): Promise<string | undefined> => {
  try {
    const response = await fetch("/.well-known/oauth-protected-resource")
    if (!response.ok) return undefined
    const metadata = (await response.json()) as { authorization_servers?: ReadonlyArray<string> }
    return metadata.authorization_servers?.[0]
  } catch {
    return undefined
  }
}

const authFetch = (server: string, path: string, init: RequestInit = {}) =>
  fetch(`${server.replace(/\/$/, "")}/api/auth${path}`, { ...init, credentials: "include" })

/** Better Auth's JWT for the session its cookie names. */
export const betterAuthToken = async (server: string): Promise<string> => {
  const response = await authFetch(server, "/token")
  if (!response.ok) throw new Error("The sign-in session has ended; sign in again.")
  const body = (await response.json()) as { token?: unknown }
  if (typeof body.token !== "string") throw new Error("The sign-in server gave no token.")
  return body.token
}

/** Email and password sign-in, then the JWT for the new session. */
export const betterAuthSignIn = async (server: string, email: string, password: string): Promise<string> => {
  const response = await authFetch(server, "/sign-in/email", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password })
  })
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { message?: unknown }
    throw new Error(typeof body.message === "string" ? body.message : "Sign-in failed.")
  }
  return betterAuthToken(server)
}

export const betterAuthSignOut = async (server: string): Promise<void> => {
  await authFetch(server, "/sign-out", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}"
  }).catch(() => undefined)
}
