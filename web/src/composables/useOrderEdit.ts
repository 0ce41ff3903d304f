// Editing an order's form on its page (订单信息): the model the form edits, the server's field
// errors, what changed against the saved form, 保存 and 撤销修改. The page owns the order; save()
// hands the saved order back through onSaved, and asks for a reload when the order moved on
// (state_conflict).
import { computed, nextTick, reactive, ref, type Ref } from 'vue'
import { updateOrder } from '../api.js'
import { useFormErrors } from '../form.js'
import { LEGAL_FIELDS, emptyOrderForm, fillOrderForm, formChanges, type OrderFormValues } from '../orderFields.js'
import type { ApiFailure, OrderDetail } from '../components/order/types'

export const LEGAL_WARNING = '修改法人信息后需重新下载并打印授权委托书、重新进行法人核验'

export interface OrderEditHooks {
  onSaved: (o: OrderDetail) => void
  onStale: () => void
}

export function useOrderEdit(order: Ref<OrderDetail | null>, hooks: OrderEditHooks) {
  const model = reactive(emptyOrderForm())
  const errs = useFormErrors(model)
  const changes = computed<Record<string, string | null>>(() =>
    order.value ? formChanges(model, order.value.form, order.value.key_type) : {},
  )
  const dirty = computed(() => Object.keys(changes.value).length > 0)
  const legalDirty = computed(() => LEGAL_FIELDS.some((f: string) => f in changes.value))
  const legalChanged = ref(false) // saved a change of the legal person: the notice stays
  const saving = ref(false)

  function fill(form: OrderFormValues | null | undefined) {
    fillOrderForm(model, form)
  }

  async function save() {
    if (saving.value || !order.value) return
    if (!dirty.value) {
      ElMessage.info('没有需要保存的修改')
      return
    }
    saving.value = true
    const legal = legalDirty.value
    try {
      const o: OrderDetail = await updateOrder(order.value.order_no, changes.value)
      hooks.onSaved(o)
      errs.clear()
      if (legal) {
        legalChanged.value = true
        ElMessage.warning({ message: `订单信息已保存。${LEGAL_WARNING}`, duration: 6000 })
      } else {
        ElMessage.success('订单信息已保存')
      }
    } catch (e) {
      errs.apply(e)
      if ((e as ApiFailure).code === 'state_conflict') hooks.onStale()
      await nextTick()
      const first = document.querySelector('.order-form .is-error, [data-test=form-error]')
      if (first) first.scrollIntoView({ behavior: 'smooth', block: 'center' })
    } finally {
      saving.value = false
    }
  }

  function reset() {
    if (order.value) fill(order.value.form)
    errs.clear()
  }

  return { model, errs, changes, dirty, legalDirty, legalChanged, saving, fill, save, reset }
}
