import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { type Plugin, defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * dwv decodes JPEG, JPEG 2000 and RLE pixel data in web workers it starts from
 * `assets/workers/NAME.min.js` beside the page (its webpack build resolves them against
 * document.baseURI, so the bundler cannot follow them): this serves them in development and
 * writes them into the build at that path.
 */
function dwvWorkers(): Plugin {
  const folder = join(dirname(createRequire(import.meta.url).resolve('dwv')), 'assets', 'workers');
  const workers = readdirSync(folder).filter((name) => name.endsWith('.js'));
  return {
    name: 'dwv-workers',
    configureServer(server) {
      server.middlewares.use('/assets/workers', (request, response, next) => {
        const name = request.url?.replace(/^\//, '').replace(/\?.*$/, '') ?? '';
        if (!workers.includes(name)) return next();
        response.setHeader('content-type', 'text/javascript');
        response.end(readFileSync(join(folder, name)));
      });
    },
    generateBundle() {
      for (const name of workers) this.emitFile({ type: 'asset', fileName: `assets/workers/${name}`, source: readFileSync(join(folder, name)) });
    },
  };
}

/** The citizen app, built into web/dist, which the server serves at `/` (src/http/web-app.ts). */
export default defineConfig({
  root,
  plugins: [react(), dwvWorkers()],
  build: { outDir: 'dist', emptyOutDir: true, reportCompressedSize: true, chunkSizeWarningLimit: 600 },
  // `npx vite --config web/vite.config.ts` beside `npm start`: the API, DICOMweb and the sign-in pages from the running server.
  server: { proxy: { '/fhir': 'http://localhost:8080', '/auth': 'http://localhost:8080', '/dicom-web': 'http://localhost:8080' } },
});
