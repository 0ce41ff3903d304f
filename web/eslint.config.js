// ESLint flat config: the Vue style guide through eslint-plugin-vue's recommended rules, TypeScript
// through typescript-eslint, formatting left to Prettier (eslint-config-prettier turns off the
// rules it would fight). `npm run lint` fails on any warning.
import js from '@eslint/js'
import pluginVue from 'eslint-plugin-vue'
import tseslint from 'typescript-eslint'
import prettier from 'eslint-config-prettier/flat'
import globals from 'globals'

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/api/schema.d.ts', 'src/auto-imports.d.ts', 'src/components.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...pluginVue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  {
    languageOptions: {
      ecmaVersion: 'latest',
      sourceType: 'module',
      globals: { ...globals.browser, ElMessage: 'readonly', ElMessageBox: 'readonly', ElLoading: 'readonly' },
    },
    rules: {
      // Our views are named by their route (HomeView, LoginView) and App is the root.
      'vue/multi-word-component-names': ['error', { ignores: ['App'] }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['*.config.{js,ts}', 'scripts/**/*.{js,mjs}'],
    languageOptions: { globals: globals.node },
  },
  prettier,
)
