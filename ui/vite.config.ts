/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build goes to ui/dist, which the jobber binary serves (src/http/assets.rs):
// hashed files under /assets/ are cached for a year, index.html never.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    // No inline <script> or data: module preload: the server's CSP forbids them.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    rollupOptions: {
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
