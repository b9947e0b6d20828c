import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** The citizen app, built into web/dist, which the server serves at `/` (src/http/web-app.ts). */
export default defineConfig({
  root,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, reportCompressedSize: true, chunkSizeWarningLimit: 600 },
  // `npx vite --config web/vite.config.ts` beside `npm start`: the API and the sign-in pages from the running server.
  server: { proxy: { '/fhir': 'http://localhost:8080', '/auth': 'http://localhost:8080' } },
});
