import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { defineConfig, type Plugin } from "vite";
import preact from "@preact/preset-vite";

// The API docs page (/schema) loads Swagger UI from this server, never from a CDN: an offline
// desk still shows its docs, and the page runs under our CSP. The files come from the
// swagger-ui-dist package into dist/api-docs/ (the initializer is public/api-docs/init.js).
const require = createRequire(import.meta.url);
function apiDocsAssets(): Plugin {
  return {
    name: "switchboard-api-docs",
    generateBundle() {
      for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
        const source = readFileSync(require.resolve(`swagger-ui-dist/${file}`));
        this.emitFile({ type: "asset", fileName: `api-docs/${file}`, source });
      }
    },
  };
}

// The backend (Litestar) serves frontend/dist at "/" in production. During
// development, `npm run dev` serves the inbox with hot reload and forwards
// every backend path to the API server on port 8000.
const backend = "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [preact(), apiDocsAssets()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2020",
    sourcemap: false,
  },
  server: {
    port: 5173,
    proxy: {
      "/api/v1/ws": { target: backend, ws: true, changeOrigin: true },
      "/api": { target: backend, changeOrigin: true },
      "/webhooks": { target: backend, changeOrigin: true },
      "/sandbox": { target: backend, changeOrigin: true },
      "/health": { target: backend, changeOrigin: true },
      "/ready": { target: backend, changeOrigin: true },
    },
  },
});
