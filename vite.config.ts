import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const page = (name: string) => fileURLToPath(new URL(`playground/${name}`, import.meta.url));

// The playground. Vitest has its own config (vitest.config.ts), so this file is only Vite's.
export default defineConfig({
  root: 'playground',
  server: { host: '127.0.0.1', port: 5173, strictPort: false },
  preview: { host: '127.0.0.1', port: 4173 },
  build: {
    outDir: '../dist-playground',
    emptyOutDir: true,
    sourcemap: true,
    // Two pages: the playground, and the same nodes channel through monorail-ws/react.
    rolldownOptions: { input: { main: page('index.html'), react: page('react.html') } },
  },
});
