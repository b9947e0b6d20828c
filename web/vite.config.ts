import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** The citizen app, built into web/dist, which the server serves at `/` (src/http/web-app.ts). */
export default defineConfig({
  root,
  plugins: [react()],
  // Cornerstone's DICOM loader decodes in module workers (`new Worker(new URL(…), { type: 'module' })`).
  worker: { format: 'es' },
  // Prebundling would move the loader away from its worker and WASM files, which it finds by import.meta.url.
  optimizeDeps: { exclude: ['@cornerstonejs/dicom-image-loader'], include: ['dicom-parser'] },
  build: { outDir: 'dist', emptyOutDir: true, reportCompressedSize: true, chunkSizeWarningLimit: 600 },
  // `npx vite --config web/vite.config.ts` beside `npm start`: the API, DICOMweb and the sign-in pages from the running server.
  server: { proxy: { '/fhir': 'http://localhost:8080', '/auth': 'http://localhost:8080', '/dicom-web': 'http://localhost:8080' } },
});
