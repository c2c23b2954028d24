// The console is served by the stack at /console/ (functions/console): Vite builds it there, with
// content-hashed names that the console function caches for a year.
import { fileURLToPath } from "node:url";
import vue from "@vitejs/plugin-vue";
import Components from "unplugin-vue-components/vite";
import { ElementPlusResolver } from "unplugin-vue-components/resolvers";
import { defineConfig } from "vite";

export default defineConfig({
  base: "/console/",
  plugins: [
    vue(),
    // Element Plus components and their styles imported where they are used, not the whole kit.
    Components({ resolvers: [ElementPlusResolver()], dts: false }),
  ],
  build: {
    outDir: fileURLToPath(new URL("../functions/console/static", import.meta.url)),
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 900,
    reportCompressedSize: false,
  },
  server: {
    proxy: { "/admin": "http://127.0.0.1:3000", "/_local": "http://127.0.0.1:3000" },
  },
});
