/**
 * The app's shell: finds a token (dev link, an earlier visit, Better Auth or a pasted one),
 * shows who is signed in and until when, renews a Better Auth token before it expires, and
 * lays out the task and chat views (side by side on a wide screen, as tabs on a narrow one).
 */
import { type FormEvent, useCallback, useEffect, useId, useState } from "react"
import {
  ApiError,
  api,
  type Capabilities,
  type Identity,
  capabilities as readCapabilities,
  setToken,
  setUnauthorizedHandler
} from "./api.ts"
import {
  betterAuthSignIn,
  betterAuthSignOut,
  betterAuthToken,
  discoverAuthServer,
  expiryOf,
  forgetToken,
  storedToken,
  storeToken,
  tokenFromFragment
} from "./auth.ts"
import { Chat } from "./Chat.tsx"
import { Notice, type NoticeState } from "./Notice.tsx"
import { Tasks } from "./Tasks.tsx"

interface Session {
  readonly token: string
  readonly identity: Identity
}

type Phase =
  | { readonly kind: "starting" }
  | { readonly kind: "signed-out"; readonly authServer: string | undefined; readonly reason?: string }
  | { readonly kind: "signed-in"; readonly session: Session; readonly authServer: string | undefined }

const NO_CAPABILITIES: Capabilities = { restore: false, renameConversation: false, me: false }

/** Who the token is for: the identity route when the server has it, else the token's own claims. */
const identify = async (token: string, capabilities: Capabilities): Promise<Identity> => {
  setToken(token)
  if (capabilities.me) return api.me()
  await api.listTasks(
    { status: "all", due: "", priority: "", tag: "", query: "", sort: "created_at", order: "" },
    undefined,
    1
  )
  const claims = JSON.parse(atob((token.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/"))) as {
    sub?: string
  }
  const exp = expiryOf(token)
  return {
    user_id: claims.sub ?? "?",
    ...(exp === undefined ? {} : { expires_at: new Date(exp).toISOString() })
  }
}

const SignIn = ({
  authServer,
  reason,
  onToken
}: {
  authServer: string | undefined
  reason: string | undefined
  onToken: (token: string) => Promise<void>
}) => {
  const id = useId()
  const [email, setEmail] = useState("")
  const [password, setPassword] = useState("")
  const [pasted, setPasted] = useState("")
  const [error, setError] = useState(reason)
  const [busy, setBusy] = useState(false)
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setBusy(true)
    try {
      await onToken(
        authServer === undefined ? pasted.trim() : await betterAuthSignIn(authServer, email, password)
      )
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : "Sign-in failed.")
    } finally {
      setBusy(false)
    }
  }
  return (
    <main className="sign-in">
      <h1>Taskport</h1>
      <form onSubmit={submit} aria-labelledby={`${id}-heading`}>
        <h2 id={`${id}-heading`}>Sign in</h2>
        {authServer === undefined ? (
          <>
            <p>
              Paste a token (the server prints one in dev mode, with a link that signs you in directly; or run{" "}
              <code>npx taskport token &lt;user&gt;</code>).
            </p>
            <div className="field">
              <label htmlFor={`${id}-token`}>Token</label>
              <textarea
                id={`${id}-token`}
                value={pasted}
                rows={4}
                onChange={(e) => setPasted(e.target.value)}
              />
            </div>
          </>
        ) : (
          <>
            <div className="field">
              <label htmlFor={`${id}-email`}>Email</label>
              <input
                id={`${id}-email`}
                type="email"
                autoComplete="username"
                value={email}
                onChange={(e) => setEmail(e.target.value)}
              />
            </div>
            <div className="field">
              <label htmlFor={`${id}-password`}>Password</label>
              <input
                id={`${id}-password`}
                type="password"
                autoComplete="current-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
              />
            </div>
          </>
        )}
        {error === undefined ? null : (
          <p className="field-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  )
}

export const App = () => {
  const [phase, setPhase] = useState<Phase>({ kind: "starting" })
  const [capabilities, setCapabilities] = useState(NO_CAPABILITIES)
  const [notice, setNotice] = useState<NoticeState>()
  const [refreshKey, setRefreshKey] = useState(0)
  const [view, setView] = useState<"tasks" | "chat">("tasks")

  const signedIn = useCallback(async (token: string, caps: Capabilities, authServer: string | undefined) => {
    const identity = await identify(token, caps)
    storeToken(token)
    setPhase({ kind: "signed-in", session: { token, identity }, authServer })
  }, [])

  // A sign-in link opened in a tab that already shows the app changes only the fragment.
  useEffect(() => {
    const onHash = () => {
      if (tokenFromFragment() !== undefined) window.location.reload()
    }
    window.addEventListener("hashchange", onHash)
    return () => window.removeEventListener("hashchange", onHash)
  }, [])

  useEffect(() => {
    const fromLink = tokenFromFragment()
    void (async () => {
      const [caps, authServer] = await Promise.all([readCapabilities(), discoverAuthServer()])
      setCapabilities(caps)
      setUnauthorizedHandler(() => {
        forgetToken()
        setToken(undefined)
        setPhase({ kind: "signed-out", authServer, reason: "Your sign-in has expired; sign in again." })
      })
      const candidates = [fromLink ?? storedToken()]
      for (const token of candidates) {
        if (token === undefined) continue
        try {
          await signedIn(token, caps, authServer)
          return
        } catch {
          forgetToken()
        }
      }
      if (authServer !== undefined) {
        // A Better Auth session cookie from an earlier visit gives a fresh token without a form.
        try {
          await signedIn(await betterAuthToken(authServer), caps, authServer)
          return
        } catch {
          // no session: ask
        }
      }
      setPhase({ kind: "signed-out", authServer })
    })()
  }, [signedIn])

  // A Better Auth token lives minutes: fetch the next one a minute before this one expires.
  useEffect(() => {
    if (phase.kind !== "signed-in" || phase.authServer === undefined) return
    const expiry = expiryOf(phase.session.token)
    if (expiry === undefined) return
    const lifetime = expiry - Date.now()
    const delay = Math.max(1_000, Math.min(lifetime - 60_000, lifetime * 0.8))
    const server = phase.authServer
    const timer = setTimeout(() => {
      betterAuthToken(server)
        .then((token) => signedIn(token, capabilities, server))
        .catch(() => setPhase({ kind: "signed-out", authServer: server, reason: "Your session has ended." }))
    }, delay)
    return () => clearTimeout(timer)
  }, [phase, capabilities, signedIn])

  const signOut = async () => {
    if (phase.kind === "signed-in" && phase.authServer !== undefined)
      await betterAuthSignOut(phase.authServer)
    forgetToken()
    setToken(undefined)
    setPhase({ kind: "signed-out", authServer: phase.kind === "starting" ? undefined : phase.authServer })
  }

  const notify = useCallback((next: NoticeState) => setNotice(next), [])
  const onTasksChanged = useCallback(() => setRefreshKey((key) => key + 1), [])
  const showTask = useCallback((id: number) => {
    setView("tasks")
    requestAnimationFrame(() => {
      const element = document.getElementById(`task-${id}`)
      element?.scrollIntoView({ block: "center" })
      element?.focus()
    })
  }, [])

  if (phase.kind === "starting") return <main className="starting" aria-busy="true" />
  if (phase.kind === "signed-out") {
    return (
      <SignIn
        authServer={phase.authServer}
        reason={phase.reason}
        onToken={async (token) => {
          try {
            await signedIn(token, capabilities, phase.authServer)
          } catch (failure) {
            throw new Error(failure instanceof ApiError ? failure.message : "That token was not accepted.")
          }
        }}
      />
    )
  }
  const { identity } = phase.session
  const who = identity.name ?? identity.email ?? identity.user_id
  const until =
    identity.expires_at === undefined || identity.expires_at === null
      ? ""
      : new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "short" }).format(
          Date.parse(identity.expires_at)
        )
  return (
    <div className="app" data-view={view}>
      <header className="top">
        <h1>Taskport</h1>
        <p className="identity">
          Signed in as <strong>{who}</strong>
          {identity.email !== undefined && identity.email !== null && who !== identity.email
            ? ` (${identity.email})`
            : ""}
          {until === "" ? "" : <span className="muted"> · until {until}</span>}
        </p>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <nav className="view-switch" aria-label="Views">
        <button type="button" aria-pressed={view === "tasks"} onClick={() => setView("tasks")}>
          Tasks
        </button>
        <button type="button" aria-pressed={view === "chat"} onClick={() => setView("chat")}>
          Chat
        </button>
      </nav>
      <main className="panels">
        <div className="panel panel-tasks">
          <Tasks capabilities={capabilities} notify={notify} refreshKey={refreshKey} />
        </div>
        <div className="panel panel-chat">
          <Chat
            capabilities={capabilities}
            notify={notify}
            onTasksChanged={onTasksChanged}
            onShowTask={showTask}
          />
        </div>
      </main>
      <Notice notice={notice} onDismiss={() => setNotice(undefined)} />
    </div>
  )
}
