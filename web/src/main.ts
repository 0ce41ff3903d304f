import { createApp } from 'vue'
import App from './App.vue'
import router from './router'
import { onUnauthorized, session } from './api'
import './styles.css'

// A request answered 401 (not logged in / session expired): to the matching login page, with
// the server's message shown there and a way back to where the user was.
onUnauthorized((err, wasKind) => {
  const here = router.currentRoute.value
  const staff = wasKind === 'staff' || here.path.startsWith('/admin')
  const target = staff ? '/admin/login' : '/login'
  if (here.path === target) return
  session.flash = err.message || '请先登录'
  router.push({ path: target, query: here.meta.auth ? { redirect: here.fullPath } : {} })
})

createApp(App).use(router).mount('#app')
