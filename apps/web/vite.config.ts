/** Builds the web app into dist/, which the server serves at `/` (apps/server/src/plugins/webApp.ts). */
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const holidayRules = fileURLToPath(new URL('./src/lib/holidayRules.ts', import.meta.url));
const holidayData = fileURLToPath(new URL('./src/lib/holidayData.ts', import.meta.url));

/**
 * `date-holidays` (≈260 KB gzipped) only where a working-day deadline is computed: every import of it
 * resolves to src/lib/holidayRules.ts, which loads the real package (src/lib/holidayData.ts) on demand.
 */
function lazyHolidayRules(): Plugin {
  return {
    name: 'doublelock:lazy-holiday-rules',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source !== 'date-holidays' || importer === holidayData) return null;
      return holidayRules;
    },
  };
}

export default defineConfig({
  plugins: [lazyHolidayRules(), react()],
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
