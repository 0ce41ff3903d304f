/// <reference types="vitest/config" />
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import AutoImport from 'unplugin-auto-import/vite'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'
import { manualPlugin } from './build/manual'

// The C server (certdeskd) serves web/dist: index.html for every unknown
// non-/api path (history routing) and hashed files under /assets/.
//
// Element Plus on demand: a template's <el-button> or v-loading and a script's
// ElMessage / ElMessageBox / ElLoading are imported with their CSS by these
// plugins, so no file imports an Element Plus component or style by hand.
// Our own components are imported explicitly (dirs: []), so only Element Plus
// appears in the generated declarations (src/components.d.ts,
// src/auto-imports.d.ts), which are committed for vue-tsc and the editor; a
// build rewrites them and scripts/test.sh fails when they changed.
export default defineConfig({
  base: '/',
  plugins: [
    vue(),
    // The user manual (/help): docs/manual/*.md rendered into `virtual:manual` (build/manual.ts).
    manualPlugin({
      dir: fileURLToPath(new URL('../docs/manual', import.meta.url)),
      router: fileURLToPath(new URL('./src/router.ts', import.meta.url)),
    }),
    AutoImport({
      resolvers: [ElementPlusResolver()],
      dts: 'src/auto-imports.d.ts',
    }),
    Components({
      dirs: [],
      resolvers: [ElementPlusResolver({ importStyle: 'css', directives: true })],
      dts: 'src/components.d.ts',
    }),
  ],
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
  // Unit tests (npm test): src/**/*.test.ts next to what they test; components mounted with
  // @vue/test-utils in happy-dom, with the same Element Plus auto-import as the app.
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.ts'],
    // Element Plus's per-component style imports (.css): through Vite, not Node, so a component
    // test needs no mocks for them.
    server: { deps: { inline: ['element-plus'] } },
  },
})
