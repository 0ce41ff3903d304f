// The organisation's account as the account page's parts read it: the API's own types
// (src/api/schema.d.ts, generated from docs/openapi.yaml).
import type { Schemas } from '../../api.js'

export type Account = Schemas['Organisation'] // GET /api/v1/account
export type MobileRequest = Schemas['MobileRequestList']['items'][number] // a stamped-letter request
