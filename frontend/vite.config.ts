import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// The backend (Litestar) serves frontend/dist at "/" in production. During
// development, `npm run dev` serves the inbox with hot reload and forwards
// every backend path to the API server on port 8000.
const backend = "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [preact()],
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
