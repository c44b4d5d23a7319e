/// <reference types="vitest/config" />
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { defineConfig, type Plugin } from "vite";
import type { OutputBundle, OutputChunk } from "rollup";
import react from "@vitejs/plugin-react";

/** Files of /field's public folder the service worker keeps for offline starts. */
const FIELD_STATIC = ["/field/manifest.webmanifest", "/field/icon.svg", "/field/icon-192.png", "/field/icon-512.png"];

/**
 * Writes field/sw.js (from scripts/field-sw.js) with the technician app's shell:
 * its entry chunk and everything it imports, statically or lazily, with their CSS.
 */
function fieldServiceWorker(): Plugin {
  return {
    name: "jobber-field-sw",
    apply: "build",
    generateBundle(_options, bundle: OutputBundle) {
      const chunks = new Map<string, OutputChunk>();
      for (const item of Object.values(bundle)) if (item.type === "chunk") chunks.set(item.fileName, item);
      const entry = [...chunks.values()].find((c) => c.isEntry && c.facadeModuleId?.endsWith("field/index.html"))
        ?? [...chunks.values()].find((c) => c.isEntry && c.facadeModuleId?.endsWith("field-main.tsx"));
      if (!entry) throw new Error("the field entry is missing from the build");
      const files = new Set<string>();
      const visit = (name: string) => {
        if (files.has(name)) return;
        const chunk = chunks.get(name);
        if (!chunk) return;
        files.add(name);
        const css = (chunk as OutputChunk & { viteMetadata?: { importedCss: Set<string> } }).viteMetadata?.importedCss;
        for (const file of css ?? []) files.add(file);
        for (const next of [...chunk.imports, ...chunk.dynamicImports]) visit(next);
      };
      visit(entry.fileName);
      const precache = ["/field/", ...FIELD_STATIC, ...[...files].sort().map((f) => `/${f}`)];
      const version = createHash("sha256").update(precache.join("\n")).digest("hex").slice(0, 12);
      const source = readFileSync(resolve(__dirname, "scripts/field-sw.js"), "utf8")
        .replace("__VERSION__", version)
        .replace("__PRECACHE__", JSON.stringify(precache, null, 2));
      this.emitFile({ type: "asset", fileName: "field/sw.js", source });
    },
  };
}

// The build goes to ui/dist, which the jobber binary serves (src/http/assets.rs):
// hashed files under /assets/ are cached for a year, index.html never.
export default defineConfig({
  plugins: [react(), fieldServiceWorker()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    // No inline <script> or data: module preload: the server's CSP forbids them.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    rollupOptions: {
      // Two pages: the office app, and the technician app (/field) with a bundle of
      // its own, so a phone's first load carries none of the office's code.
      input: { main: resolve(__dirname, "index.html"), field: resolve(__dirname, "field/index.html") },
      output: {
        manualChunks(id) {
          if (id.includes("node_modules/react-router")) return "router";
          if (/node_modules\/(react|react-dom|scheduler)\//.test(id)) return "react";
          if (id.includes("node_modules/@tanstack/react-query") || id.includes("node_modules/openapi-fetch")) return "data";
          return undefined;
        },
      },
    },
  },
  server: {
    // `npm run dev` talks to a `jobber serve` on the default port.
    proxy: { "/api": "http://127.0.0.1:8080" },
  },
  test: {
    environment: "jsdom",
    globals: true,
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test-setup.ts"],
  },
});
