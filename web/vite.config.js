import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The C server (certdeskd) serves web/dist: index.html for every unknown
// non-/api path (history routing) and hashed files under /assets/.
export default defineConfig({
  base: '/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/healthz': 'http://127.0.0.1:8080',
    },
  },
})
