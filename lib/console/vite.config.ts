/** Builds the console into dist/console (part of `npm run build`); relative asset paths, so any static server can host it. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const page = fileURLToPath(new URL('./page/', import.meta.url));

export default defineConfig({
  root: page,
  base: './',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../../dist/console', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rolldownOptions: {
      // autobahn-browser's bundle carries an old JSON polyfill with eval, never reached in a browser with JSON
      onLog(level, log, handler) {
        if (log.code === 'EVAL' && (log.id ?? '').includes('autobahn-browser')) return;
        handler(level, log);
      },
    },
  },
});
