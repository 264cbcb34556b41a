/**
 * The MCP endpoint as an OAuth protected resource (RFC 9728): the URL of its metadata, which
 * a 401 challenge points to, and the metadata document naming where users sign in. It needs
 * nothing of the MCP SDK at run time, so a server can answer discovery without loading it.
 */
import type { OAuthProtectedResourceMetadata } from "@modelcontextprotocol/server"

export interface ProtectedResourceOptions {
  /**
   * The URL clients use for the endpoint, e.g. `https://tasks.example.com/mcp`, or a function
   * giving it once known (the bound address of a server on port 0). Servers always give one:
   * without it each request's own URL is used, so a forged Host would be echoed into the
   * challenge and the metadata, which is then served `no-store` so no cache keeps it.
   * A function is asked on every request: returning the same `URL` while the address stands
   * lets the metadata URL built from it be kept rather than parsed again.
   */
  readonly resourceUrl?: URL | (() => URL) | undefined
  /** The endpoint's path when `resourceUrl` is not given (default `/mcp`). */
  readonly path?: string | undefined
  /** Where users sign in (Better Auth's base URL), advertised to OAuth-capable clients. */
  readonly authorizationServers?: ReadonlyArray<string> | undefined
}

export interface ProtectedResource {
  /** The path the metadata is served at for this endpoint. */
  readonly metadataPath: string
  /** The metadata's absolute URL, as a challenge names it, for a request to the endpoint. */
  readonly metadataUrl: (request: Request) => string
  /** Serves `/.well-known/oauth-protected-resource[/<path>]`. */
  readonly metadata: (request: Request) => Response
}

export const make = (options: ProtectedResourceOptions): ProtectedResource => {
  const configured = options.resourceUrl
  const resourceUrl = typeof configured === "function" ? configured : () => configured
  const givenPath = typeof configured === "function" ? undefined : configured?.pathname
  const resourcePath = (givenPath ?? options.path ?? "/mcp").replace(/\/$/, "")
  const metadataPath = `/.well-known/oauth-protected-resource${resourcePath}`
  const resourceOf = (request: Request) => resourceUrl() ?? new URL(resourcePath, request.url)
  const cacheControl = configured === undefined ? "no-store" : "public, max-age=3600"
  // Every request to the endpoint asks for it; the resource URL rarely changes, so the last is kept.
  let last: { readonly resource: URL; readonly href: string } | undefined
  return {
    metadataPath,
    metadataUrl: (request) => {
      const resource = resourceOf(request)
      if (last?.resource !== resource) last = { resource, href: new URL(metadataPath, resource).href }
      return last.href
    },
    metadata: (request) => {
      const document: OAuthProtectedResourceMetadata = {
        resource: resourceOf(request).href,
        ...(options.authorizationServers === undefined || options.authorizationServers.length === 0
          ? {}
          : { authorization_servers: [...options.authorizationServers] }),
        bearer_methods_supported: ["header"],
        resource_name: "Taskport"
      }
      return new Response(JSON.stringify(document), {
        headers: { "content-type": "application/json", "cache-control": cacheControl }
      })
    }
  }
}
