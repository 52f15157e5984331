/** Builds the web app into dist/, which the server serves at `/` (apps/server/src/plugins/webApp.ts). */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Budgets are measured by `npm run bench:web`; the SDK chunk is large by nature (MLS).
    chunkSizeWarningLimit: 2000,
    sourcemap: false,
    // bench:web reads it to know each route's initial chunks (entry + route chunk + their static imports).
    manifest: true,
    // Every browser the app supports has native modulepreload; the polyfill would only add to the entry chunk.
    modulePreload: { polyfill: false },
  },
  server: { proxy: { '/v1': { target: 'http://127.0.0.1:8080', ws: true } } },
});
