import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import PortalLayout from './layouts/PortalLayout.vue'
import HomeView from './views/HomeView.vue'
import { loadSession, session, type Schemas } from './api'

declare module 'vue-router' {
  interface RouteMeta {
    /** The page's title (document.title). */
    title?: string
    /** Who may see the page. */
    auth?: 'org' | 'staff'
    /** Staff roles of which one is required. */
    roles?: Schemas['Role'][]
    /** A back-office page (its own site title). */
    console?: boolean
    /** The work queue the page shows (AdminWorkQueueView). */
    queue?: 'paper' | 'production' | 'shipping'
  }
}

// Only the portal frame and the home page are in the first chunk; other pages load on demand.
// meta.auth: 'org' | 'staff' — who may see the page; meta.roles: staff roles required (any of).
const routes: RouteRecordRaw[] = [
  // The legal person's phone, from the QR code on the authorisation letter: no login, no portal
  // frame (and no meta.auth, so the guard below lets it through).
  {
    path: '/verify/:token',
    name: 'verify',
    component: () => import('./views/VerifyView.vue'),
    meta: { title: '法人核验' },
  },
  {
    path: '/verify/:token/result',
    name: 'verify-result',
    component: () => import('./views/VerifyView.vue'),
    meta: { title: '法人核验结果' },
  },
  {
    path: '/admin/login',
    name: 'admin-login',
    component: () => import('./views/admin/AdminLoginView.vue'),
    meta: { title: '工作人员登录', console: true },
  },
  {
    path: '/admin',
    component: () => import('./layouts/AdminLayout.vue'),
    meta: { auth: 'staff', console: true },
    children: [
      {
        path: '',
        name: 'admin-home',
        component: () => import('./views/admin/AdminHomeView.vue'),
        meta: { title: '工作台' },
      },
      {
        path: 'organisations',
        name: 'admin-organisations',
        component: () => import('./views/admin/AdminOrganisationsView.vue'),
        meta: { title: '单位管理' },
      },
      {
        path: 'orders',
        name: 'admin-orders',
        component: () => import('./views/admin/AdminOrdersView.vue'),
        meta: { title: '订单查询' },
      },
      {
        path: 'orders/:no',
        name: 'admin-order',
        component: () => import('./views/admin/AdminOrderDetailView.vue'),
        meta: { title: '订单详情' },
      },
      {
        path: 'certificates',
        name: 'admin-certificates',
        component: () => import('./views/admin/AdminCertificatesView.vue'),
        meta: { title: '证书查询' },
      },
      {
        path: 'cert-profiles',
        name: 'admin-cert-profiles',
        component: () => import('./views/admin/AdminCertProfilesView.vue'),
        meta: { title: '证书模板', roles: ['admin'] },
      },
      {
        path: 'review',
        name: 'admin-review',
        component: () => import('./views/admin/AdminReviewQueueView.vue'),
        meta: { title: '订单预审', roles: ['reviewer'] },
      },
      {
        path: 'review/:no',
        name: 'admin-review-order',
        component: () => import('./views/admin/AdminReviewView.vue'),
        meta: { title: '预审订单', roles: ['reviewer'] },
      },
      {
        path: 'paper',
        name: 'admin-paper',
        component: () => import('./views/admin/AdminWorkQueueView.vue'),
        meta: { title: '纸质资料审核', roles: ['paper'], queue: 'paper' },
      },
      {
        path: 'production',
        name: 'admin-production',
        component: () => import('./views/admin/AdminWorkQueueView.vue'),
        meta: { title: '制证', roles: ['producer'], queue: 'production' },
      },
      {
        path: 'production/:no',
        name: 'admin-production-order',
        component: () => import('./views/admin/AdminProductionView.vue'),
        meta: { title: '制证', roles: ['producer'] },
      },
      {
        path: 'shipping',
        name: 'admin-shipping',
        component: () => import('./views/admin/AdminWorkQueueView.vue'),
        meta: { title: '发货', roles: ['shipper'], queue: 'shipping' },
      },
      {
        path: 'invoices',
        name: 'admin-invoices',
        component: () => import('./views/admin/AdminInvoicesView.vue'),
        meta: { title: '发票开具', roles: ['finance'] },
      },
      {
        path: 'payments',
        name: 'admin-payments',
        component: () => import('./views/admin/AdminPaymentsView.vue'),
        meta: { title: '缴费对账', roles: ['finance'] },
      },
      {
        path: 'calendar',
        name: 'admin-calendar',
        component: () => import('./views/admin/AdminCalendarView.vue'),
        meta: { title: '工作日历' },
      },
      {
        path: 'mobile-requests',
        name: 'admin-mobile-requests',
        component: () => import('./views/admin/AdminMobileRequestsView.vue'),
        meta: { title: '经办人变更审核', roles: ['admin'] },
      },
      {
        path: 'projects',
        name: 'admin-projects',
        component: () => import('./views/admin/AdminProjectsView.vue'),
        meta: { title: '项目与价格', roles: ['admin'] },
      },
      {
        path: 'staff',
        name: 'admin-staff',
        component: () => import('./views/admin/AdminStaffView.vue'),
        meta: { title: '工作人员管理', roles: ['admin'] },
      },
    ],
  },
  {
    path: '/',
    component: PortalLayout,
    children: [
      { path: '', name: 'home', component: HomeView, meta: { title: '首页' } },
      {
        path: 'register',
        name: 'register',
        component: () => import('./views/RegisterView.vue'),
        meta: { title: '免费注册' },
      },
      {
        path: 'login',
        name: 'login',
        component: () => import('./views/LoginView.vue'),
        meta: { title: '登录' },
      },
      {
        path: 'forgot-password',
        name: 'forgot-password',
        component: () => import('./views/ForgotPasswordView.vue'),
        meta: { title: '忘记密码' },
      },
      // The user manual (docs/manual, rendered at build time): public, linked from the header.
      {
        path: 'help',
        name: 'help',
        component: () => import('./views/HelpView.vue'),
        meta: { title: '用户手册' },
      },
      {
        path: 'account',
        name: 'account',
        component: () => import('./views/AccountView.vue'),
        meta: { title: '账户中心', auth: 'org' },
      },
      {
        path: 'orders',
        name: 'orders',
        component: () => import('./views/orders/OrderListView.vue'),
        meta: { title: '我的订单', auth: 'org' },
      },
      {
        path: 'orders/new',
        name: 'order-new',
        component: () => import('./views/orders/OrderNewView.vue'),
        meta: { title: '数字证书申请', auth: 'org' },
      },
      {
        path: 'orders/:no',
        name: 'order',
        component: () => import('./views/orders/OrderDetailView.vue'),
        meta: { title: '订单详情', auth: 'org' },
      },
      // 证书在线更新: public, the USB key is the credential (no account, no captcha)
      {
        path: 'renew',
        name: 'renew',
        component: () => import('./views/RenewView.vue'),
        meta: { title: '证书在线更新' },
      },
      {
        path: ':pathMatch(.*)*',
        name: 'not-found',
        component: () => import('./views/NotFoundView.vue'),
        meta: { title: '页面不存在' },
      },
    ],
  },
]

const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes,
  // A link to a part of a page (/help#login) scrolls to it; other navigations to the top.
  scrollBehavior: (to) => (to.hash ? { el: to.hash, top: 16 } : { top: 0 }),
})

router.beforeEach(async (to) => {
  const need = to.meta.auth
  if (!need) {
    // Public pages do not wait for the session (the header fills in when it arrives).
    loadSession().catch(() => {})
    return true
  }
  try {
    await loadSession()
  } catch {
    /* treated as not logged in */
  }
  if (session.kind !== need) {
    session.flash = '请先登录'
    return { path: need === 'staff' ? '/admin/login' : '/login', query: { redirect: to.fullPath } }
  }
  const roles = to.meta.roles
  if (roles && !(session.user && (session.user.roles || []).some((r) => roles.includes(r)))) {
    return { path: '/admin' }
  }
  return true
})

const SITE_TITLE = '数字证书在线业务办理平台'
router.afterEach((to) => {
  const t = to.meta && to.meta.title
  const site = to.meta && to.meta.console ? '数字证书业务管理后台' : SITE_TITLE
  document.title = !t || to.name === 'home' ? site : `${t} - ${site}`
})

export default router
