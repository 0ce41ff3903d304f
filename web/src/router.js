import { createRouter, createWebHistory } from 'vue-router'
import HomeView from './views/HomeView.vue'

// Only the home page is in the first chunk; other pages load on demand.
const routes = [
  { path: '/', name: 'home', component: HomeView, meta: { title: '首页' } },
  {
    path: '/register',
    name: 'register',
    component: () => import('./views/ComingSoonView.vue'),
    meta: { title: '免费注册' },
  },
  {
    path: '/login',
    name: 'login',
    component: () => import('./views/ComingSoonView.vue'),
    meta: { title: '登录' },
  },
  {
    path: '/:pathMatch(.*)*',
    name: 'not-found',
    component: () => import('./views/NotFoundView.vue'),
    meta: { title: '页面不存在' },
  },
]

const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes,
  scrollBehavior: () => ({ top: 0 }),
})

const SITE_TITLE = '数字证书在线业务办理平台'
router.afterEach((to) => {
  const t = to.meta && to.meta.title
  document.title = !t || to.name === 'home' ? SITE_TITLE : `${t} - ${SITE_TITLE}`
})

export default router
