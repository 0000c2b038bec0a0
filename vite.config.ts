import { defineConfig } from 'vite';

// The playground. Vitest has its own config (vitest.config.ts), so this file is only Vite's.
export default defineConfig({
  root: 'playground',
  server: { host: '127.0.0.1', port: 5173, strictPort: false },
  preview: { host: '127.0.0.1', port: 4173 },
  build: { outDir: '../dist-playground', emptyOutDir: true, sourcemap: true },
});
