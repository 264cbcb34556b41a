/**
 * Vite's configuration for the web app: React, sources in `app/`, output in `build/` with
 * hashed asset names and no inline scripts, so a strict content security policy holds.
 */
import react from "@vitejs/plugin-react"
import { defineConfig } from "vite"

export default defineConfig({
  root: new URL("./app", import.meta.url).pathname,
  base: "/",
  plugins: [react()],
  build: {
    outDir: new URL("./build", import.meta.url).pathname,
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: "es2022"
  }
})
