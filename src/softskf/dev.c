/* Devices of the software key: enumeration (CERTDESK_SOFTSKF_DIR read at every call), connection,
 * device information, random numbers and device authentication (SM4-ECB of the last challenge under
 * the 16-byte device authentication key). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "softskf/softskf_int.h"

/* The storage directory, or NULL when CERTDESK_SOFTSKF_DIR is not set. */
static const char *store_dir(void)
{
	const char *d = getenv(SOFTSKF_ENV);
	return d != NULL && d[0] != '\0' ? d : NULL;
}

/* The names of the devices of the store (present ones only when present_only). */
static char **device_names(int present_only)
{
	const char *dir = store_dir();
	char **v, p[SOFTSKF_PATH_MAX], f[SOFTSKF_PATH_MAX];
	size_t k = 0;

	v = dir != NULL ? softskf_list(dir, 1) : calloc(1, sizeof(char *));
	if (v == NULL)
		return NULL;
	for (size_t i = 0; v[i] != NULL; i++) {
		int keep = softskf_path(p, sizeof(p), dir, v[i]) == 0 &&
			   softskf_path(f, sizeof(f), p, "device.json") == 0 && softskf_exists(f) &&
			   (!present_only || sk_dev_present(p));
		if (keep)
			v[k++] = v[i];
		else
			free(v[i]);
	}
	v[k] = NULL;
	return v;
}

static ULONG enum_dev(BOOL bPresent, LPSTR szNameList, ULONG *pulSize)
{
	char **v;
	ULONG r;

	if (pulSize == NULL)
		return SAR_INVALIDPARAMERR;
	v = device_names(bPresent);
	if (v == NULL)
		return SAR_FILEERR;
	r = sk_multistr(v, szNameList, pulSize);
	softskf_names_free(v);
	return r;
}

SKF_EXPORT ULONG SKF_EnumDev(BOOL bPresent, LPSTR szNameList, ULONG *pulSize)
{
	SK_LOCKED(enum_dev(bPresent, szNameList, pulSize));
}

static ULONG connect_dev(LPSTR szName, DEVHANDLE *phDev)
{
	const char *dir = store_dir();
	struct sk_dev *d;

	if (phDev == NULL || !softskf_name_ok(szName, SKF_MAX_NAME_LEN))
		return SAR_INVALIDPARAMERR;
	*phDev = NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return SAR_MEMORYERR;
	snprintf(d->name, sizeof(d->name), "%s", szName);
	if (dir == NULL || softskf_path(d->path, sizeof(d->path), dir, szName) != 0 || !sk_dev_present(d->path)) {
		free(d);
		return SAR_DEVICE_REMOVED; /* absent: never inserted or pulled out */
	}
	d->removals = sk_dev_removals(d->path);
	if (sk_reg_add(d, SK_DEV) != 0) {
		free(d);
		return SAR_MEMORYERR;
	}
	*phDev = d;
	return SAR_OK;
}

SKF_EXPORT ULONG SKF_ConnectDev(LPSTR szName, DEVHANDLE *phDev)
{
	SK_LOCKED(connect_dev(szName, phDev));
}

/* Frees a device handle and everything opened through it; allowed on a removed device. */
static ULONG disconnect_dev(DEVHANDLE hDev)
{
	struct sk_dev *d = sk_reg_find(hDev, SK_DEV);

	if (d == NULL)
		return SAR_INVALIDHANDLEERR;
	sk_reg_free_children(d);
	sk_reg_del(d);
	OPENSSL_cleanse(d, sizeof(*d));
	free(d);
	return SAR_OK;
}

SKF_EXPORT ULONG SKF_DisConnectDev(DEVHANDLE hDev)
{
	SK_LOCKED(disconnect_dev(hDev));
}

static ULONG get_dev_state(LPSTR szDevName, ULONG *pulDevState)
{
	const char *dir = store_dir();
	char p[SOFTSKF_PATH_MAX];

	if (pulDevState == NULL || !softskf_name_ok(szDevName, SKF_MAX_NAME_LEN))
		return SAR_INVALIDPARAMERR;
	*pulDevState = dir != NULL && softskf_path(p, sizeof(p), dir, szDevName) == 0 && sk_dev_present(p)
			       ? SKF_DEV_PRESENT_STATE
			       : SKF_DEV_ABSENT_STATE;
	return SAR_OK;
}

SKF_EXPORT ULONG SKF_GetDevState(LPSTR szDevName, ULONG *pulDevState)
{
	SK_LOCKED(get_dev_state(szDevName, pulDevState));
}

/* Reads device.json of d (caller decrefs) or NULL. */
static json_t *dev_json(const struct sk_dev *d)
{
	char f[SOFTSKF_PATH_MAX];
	return softskf_path(f, sizeof(f), d->path, "device.json") == 0 ? softskf_read_json(f) : NULL;
}

/* Copies the string member key of o into a fixed field of n bytes (NUL-padded). */
static void copy_field(char *dst, size_t n, const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	memset(dst, 0, n);
	if (s != NULL)
		memcpy(dst, s, strnlen(s, n - 1));
}

static ULONG get_dev_info(DEVHANDLE hDev, DEVINFO *pDevInfo)
{
	struct sk_dev *d;
	json_t *o;
	ULONG r = sk_dev_get(hDev, 0, &d);

	if (r != SAR_OK)
		return r;
	if (pDevInfo == NULL)
		return SAR_INVALIDPARAMERR;
	if ((o = dev_json(d)) == NULL)
		return SAR_READFILEERR;
	memset(pDevInfo, 0, sizeof(*pDevInfo));
	pDevInfo->Version.major = 1;
	copy_field(pDevInfo->Manufacturer, sizeof(pDevInfo->Manufacturer), o, "manufacturer");
	copy_field(pDevInfo->Issuer, sizeof(pDevInfo->Issuer), o, "manufacturer");
	copy_field(pDevInfo->Label, sizeof(pDevInfo->Label), o, "label");
	copy_field(pDevInfo->SerialNumber, sizeof(pDevInfo->SerialNumber), o, "serial");
	pDevInfo->HWVersion.major = 1;
	pDevInfo->FirmwareVersion.major = 1;
	pDevInfo->AlgSymCap = SGD_SM4_ECB | SGD_SM4_CBC;
	pDevInfo->AlgAsymCap = SGD_SM2_1 | SGD_SM2_3;
	pDevInfo->AlgHashCap = SGD_SM3;
	pDevInfo->DevAuthAlgId = SGD_SM4_ECB;
	pDevInfo->TotalSpace = 1024 * 1024;
	pDevInfo->FreeSpace = 1024 * 1024;
	pDevInfo->MaxECCBufferSize = 1024;
	pDevInfo->MaxBufferSize = 4096;
	json_decref(o);
	return SAR_OK;
}

SKF_EXPORT ULONG SKF_GetDevInfo(DEVHANDLE hDev, DEVINFO *pDevInfo)
{
	SK_LOCKED(get_dev_info(hDev, pDevInfo));
}

/* Sets member key of device.json to the string v. */
static ULONG dev_set(const struct sk_dev *d, const char *key, const char *v)
{
	char f[SOFTSKF_PATH_MAX];
	json_t *o = dev_json(d);
	ULONG r = SAR_WRITEFILEERR;

	if (o == NULL)
		return SAR_READFILEERR;
	if (json_object_set_new(o, key, json_string(v)) == 0 &&
	    softskf_path(f, sizeof(f), d->path, "device.json") == 0 && softskf_write_json(f, o) == 0)
		r = SAR_OK;
	json_decref(o);
	return r;
}

static ULONG set_label(DEVHANDLE hDev, LPSTR szLabel)
{
	struct sk_dev *d;
	ULONG r = sk_dev_get(hDev, 1, &d);

	if (r != SAR_OK)
		return r;
	if (szLabel == NULL || strnlen(szLabel, 32) >= 32)
		return SAR_INVALIDPARAMERR;
	return dev_set(d, "label", szLabel);
}

SKF_EXPORT ULONG SKF_SetLabel(DEVHANDLE hDev, LPSTR szLabel)
{
	SK_LOCKED(set_label(hDev, szLabel));
}

static ULONG gen_random(DEVHANDLE hDev, BYTE *pbRandom, ULONG ulRandomLen)
{
	struct sk_dev *d;
	ULONG r = sk_dev_get(hDev, 0, &d);

	if (r != SAR_OK)
		return r;
	if (pbRandom == NULL || ulRandomLen == 0 || ulRandomLen > 1024)
		return SAR_INVALIDPARAMERR;
	if (RAND_bytes(pbRandom, (int)ulRandomLen) != 1)
		return SAR_GENRANDERR;
	memset(d->challenge, 0, sizeof(d->challenge));
	memcpy(d->challenge, pbRandom, ulRandomLen < 8 ? ulRandomLen : 8);
	d->have_challenge = 1;
	return SAR_OK;
}

SKF_EXPORT ULONG SKF_GenRandom(DEVHANDLE hDev, BYTE *pbRandom, ULONG ulRandomLen)
{
	SK_LOCKED(gen_random(hDev, pbRandom, ulRandomLen));
}

/* SM4-ECB-decrypts the 16-byte in under key into out. Returns 0 or -1. */
static int sm4_ecb_decrypt16(const unsigned char *key, const unsigned char *in, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	EVP_CIPHER *sm4 = EVP_CIPHER_fetch(NULL, "SM4-ECB", NULL);
	int n = 0, fin = 0;
	int ok = ctx != NULL && sm4 != NULL && EVP_DecryptInit_ex(ctx, sm4, NULL, key, NULL) == 1 &&
		 EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 && EVP_DecryptUpdate(ctx, out, &n, in, 16) == 1 &&
		 EVP_DecryptFinal_ex(ctx, out + n, &fin) == 1 && n + fin == 16;

	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(sm4);
	return ok ? 0 : -1;
}

/* The device authentication key of d into key. Returns 0 or -1. */
static int dev_auth_key(const struct sk_dev *d, unsigned char key[SOFTSKF_DEVAUTH_LEN])
{
	json_t *o = dev_json(d);
	int r = o != NULL ? softskf_unhex(json_string_value(json_object_get(o, "devauth")), key,
					   SOFTSKF_DEVAUTH_LEN)
			  : -1;
	json_decref(o);
	return r;
}

/* A wrong authentication value answers SAR_INDATAERR (the standard names no dedicated code); the
 * challenge is used once either way. */
static ULONG dev_auth(DEVHANDLE hDev, BYTE *pbAuthData, ULONG ulLen)
{
	struct sk_dev *d;
	unsigned char key[SOFTSKF_DEVAUTH_LEN], plain[16];
	ULONG r = sk_dev_get(hDev, 0, &d);

	if (r != SAR_OK)
		return r;
	if (pbAuthData == NULL || ulLen != 16)
		return SAR_INVALIDPARAMERR;
	if (!d->have_challenge)
		return SAR_INDATAERR;
	d->have_challenge = 0;
	if (dev_auth_key(d, key) != 0)
		return SAR_READFILEERR;
	r = sm4_ecb_decrypt16(key, pbAuthData, plain) == 0 && CRYPTO_memcmp(plain, d->challenge, 16) == 0
		    ? SAR_OK
		    : SAR_INDATAERR;
	OPENSSL_cleanse(key, sizeof(key));
	d->authed = r == SAR_OK;
	return r;
}

SKF_EXPORT ULONG SKF_DevAuth(DEVHANDLE hDev, BYTE *pbAuthData, ULONG ulLen)
{
	SK_LOCKED(dev_auth(hDev, pbAuthData, ulLen));
}

static ULONG change_dev_auth_key(DEVHANDLE hDev, BYTE *pbKeyValue, ULONG ulKeyLen)
{
	struct sk_dev *d;
	char hex[2 * SOFTSKF_DEVAUTH_LEN + 1];
	ULONG r = sk_dev_get(hDev, 1, &d);

	if (r != SAR_OK)
		return r;
	if (pbKeyValue == NULL || ulKeyLen != SOFTSKF_DEVAUTH_LEN)
		return SAR_INVALIDPARAMERR;
	if (!d->authed)
		return SAR_USER_NOT_LOGGED_IN;
	softskf_hex(pbKeyValue, SOFTSKF_DEVAUTH_LEN, hex);
	return dev_set(d, "devauth", hex);
}

SKF_EXPORT ULONG SKF_ChangeDevAuthKey(DEVHANDLE hDev, BYTE *pbKeyValue, ULONG ulKeyLen)
{
	SK_LOCKED(change_dev_auth_key(hDev, pbKeyValue, ulKeyLen));
}
