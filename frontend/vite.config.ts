import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Served by the Marquee server at /console; `npm run dev` proxies the API to a local one.
export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 2000 },
  server: { proxy: { "/graphql": "http://127.0.0.1:8080", "/models": "http://127.0.0.1:8080", "/auth": "http://127.0.0.1:8080" } },
});
