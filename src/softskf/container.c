/* Containers of the software key (a directory each under apps/APP/containers) and their signing and
 * encryption certificates, kept as DER exactly as imported. Creating, deleting and writing need the
 * user PIN verified on the application handle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softskf/softskf_int.h"

#define CERT_MAX (64 * 1024)

/* The path of container name of application a into out. Returns 0 or -1. */
static int con_path(const struct sk_app *a, const char *name, char *out, size_t outlen)
{
	char cs[SOFTSKF_PATH_MAX];
	return softskf_path(cs, sizeof(cs), a->path, "containers") == 0 ? softskf_path(out, outlen, cs, name) : -1;
}

/* Checks a container name. Returns SAR_OK, SAR_INVALIDPARAMERR or SAR_NAMELENERR. */
static ULONG con_name_check(const char *name)
{
	if (name == NULL)
		return SAR_INVALIDPARAMERR;
	if (strnlen(name, SKF_MAX_NAME_LEN + 1) > SKF_MAX_NAME_LEN)
		return SAR_NAMELENERR;
	return softskf_name_ok(name, SKF_MAX_NAME_LEN) ? SAR_OK : SAR_INVALIDPARAMERR;
}

/* A new registered handle of container name of a, or NULL. */
static struct sk_con *con_handle(struct sk_app *a, const char *name)
{
	struct sk_con *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->app = a;
	snprintf(c->name, sizeof(c->name), "%s", name);
	if (con_path(a, name, c->path, sizeof(c->path)) != 0 || sk_reg_add(c, SK_CON) != 0) {
		free(c);
		return NULL;
	}
	a->refs++;
	return c;
}

static ULONG create_container(HAPPLICATION hApplication, LPSTR szContainerName, HCONTAINER *phContainer)
{
	struct sk_app *a;
	char p[SOFTSKF_PATH_MAX];
	ULONG r = sk_app_get(hApplication, 1, &a);

	if (r != SAR_OK)
		return r;
	if (phContainer == NULL)
		return SAR_INVALIDPARAMERR;
	*phContainer = NULL;
	if ((r = con_name_check(szContainerName)) != SAR_OK)
		return r;
	if (!a->user_in)
		return SAR_USER_NOT_LOGGED_IN;
	if (con_path(a, szContainerName, p, sizeof(p)) != 0)
		return SAR_NAMELENERR;
	if (softskf_exists(p))
		return SAR_FILE_ALREADY_EXIST; /* the standard has no "container exists" code */
	if (softskf_mkdir(p) != 0)
		return SAR_WRITEFILEERR;
	*phContainer = con_handle(a, szContainerName);
	return *phContainer != NULL ? SAR_OK : SAR_MEMORYERR;
}

SKF_EXPORT ULONG SKF_CreateContainer(HAPPLICATION hApplication, LPSTR szContainerName, HCONTAINER *phContainer)
{
	SK_LOCKED(create_container(hApplication, szContainerName, phContainer));
}

static ULONG delete_container(HAPPLICATION hApplication, LPSTR szContainerName)
{
	struct sk_app *a;
	char p[SOFTSKF_PATH_MAX];
	ULONG r = sk_app_get(hApplication, 1, &a);

	if (r != SAR_OK)
		return r;
	if ((r = con_name_check(szContainerName)) != SAR_OK)
		return r;
	if (!a->user_in)
		return SAR_USER_NOT_LOGGED_IN;
	if (con_path(a, szContainerName, p, sizeof(p)) != 0 || !softskf_exists(p))
		return SAR_INVALIDPARAMERR; /* no such container */
	return softskf_rmtree(p) == 0 ? SAR_OK : SAR_FILEERR;
}

SKF_EXPORT ULONG SKF_DeleteContainer(HAPPLICATION hApplication, LPSTR szContainerName)
{
	SK_LOCKED(delete_container(hApplication, szContainerName));
}

static ULONG open_container(HAPPLICATION hApplication, LPSTR szContainerName, HCONTAINER *phContainer)
{
	struct sk_app *a;
	char p[SOFTSKF_PATH_MAX];
	ULONG r = sk_app_get(hApplication, 0, &a);

	if (r != SAR_OK)
		return r;
	if (phContainer == NULL)
		return SAR_INVALIDPARAMERR;
	*phContainer = NULL;
	if ((r = con_name_check(szContainerName)) != SAR_OK)
		return r;
	if (con_path(a, szContainerName, p, sizeof(p)) != 0 || !softskf_exists(p))
		return SAR_INVALIDPARAMERR; /* no such container */
	*phContainer = con_handle(a, szContainerName);
	return *phContainer != NULL ? SAR_OK : SAR_MEMORYERR;
}

SKF_EXPORT ULONG SKF_OpenContainer(HAPPLICATION hApplication, LPSTR szContainerName, HCONTAINER *phContainer)
{
	SK_LOCKED(open_container(hApplication, szContainerName, phContainer));
}

static ULONG close_container(HCONTAINER hContainer)
{
	struct sk_con *c = sk_reg_find(hContainer, SK_CON);

	if (c == NULL)
		return SAR_INVALIDHANDLEERR;
	sk_con_close(c);
	return SAR_OK;
}

SKF_EXPORT ULONG SKF_CloseContainer(HCONTAINER hContainer)
{
	SK_LOCKED(close_container(hContainer));
}

static ULONG enum_container(HAPPLICATION hApplication, LPSTR szContainerName, ULONG *pulSize)
{
	struct sk_app *a;
	char cs[SOFTSKF_PATH_MAX];
	char **v;
	ULONG r = sk_app_get(hApplication, 0, &a);

	if (r != SAR_OK)
		return r;
	if (pulSize == NULL)
		return SAR_INVALIDPARAMERR;
	if (softskf_path(cs, sizeof(cs), a->path, "containers") != 0 || (v = softskf_list(cs, 1)) == NULL)
		return SAR_FILEERR;
	r = sk_multistr(v, szContainerName, pulSize);
	softskf_names_free(v);
	return r;
}

SKF_EXPORT ULONG SKF_EnumContainer(HAPPLICATION hApplication, LPSTR szContainerName, ULONG *pulSize)
{
	SK_LOCKED(enum_container(hApplication, szContainerName, pulSize));
}

/* Whether container c holds the object file name. */
static int con_has(const struct sk_con *c, const char *name)
{
	char p[SOFTSKF_PATH_MAX];
	return softskf_path(p, sizeof(p), c->path, name) == 0 && softskf_exists(p);
}

static ULONG get_container_type(HCONTAINER hContainer, ULONG *pulContainerType)
{
	struct sk_con *c;
	ULONG r = sk_con_get(hContainer, 0, &c);

	if (r != SAR_OK)
		return r;
	if (pulContainerType == NULL)
		return SAR_INVALIDPARAMERR;
	*pulContainerType = con_has(c, "sign.key") || con_has(c, "enc.key") ? SKF_CONTAINER_ECC : SKF_CONTAINER_EMPTY;
	return SAR_OK;
}

SKF_EXPORT ULONG SKF_GetContainerType(HCONTAINER hContainer, ULONG *pulContainerType)
{
	SK_LOCKED(get_container_type(hContainer, pulContainerType));
}

static ULONG import_certificate(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbCert, ULONG ulCertLen)
{
	struct sk_con *c;
	char p[SOFTSKF_PATH_MAX];
	ULONG r = sk_con_get(hContainer, 1, &c);

	if (r != SAR_OK)
		return r;
	if (pbCert == NULL || ulCertLen == 0 || ulCertLen > CERT_MAX)
		return SAR_INVALIDPARAMERR;
	if (!c->app->user_in)
		return SAR_USER_NOT_LOGGED_IN;
	if (softskf_path(p, sizeof(p), c->path, bSignFlag ? "sign.cer" : "enc.cer") != 0 ||
	    softskf_write_file(p, pbCert, ulCertLen) != 0)
		return SAR_WRITEFILEERR;
	return SAR_OK;
}

SKF_EXPORT ULONG SKF_ImportCertificate(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbCert, ULONG ulCertLen)
{
	SK_LOCKED(import_certificate(hContainer, bSignFlag, pbCert, ulCertLen));
}

static ULONG export_certificate(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbCert, ULONG *pulCertLen)
{
	struct sk_con *c;
	char p[SOFTSKF_PATH_MAX];
	unsigned char *der;
	size_t len = 0;
	ULONG r = sk_con_get(hContainer, 0, &c);

	if (r != SAR_OK)
		return r;
	if (pulCertLen == NULL)
		return SAR_INVALIDPARAMERR;
	if (softskf_path(p, sizeof(p), c->path, bSignFlag ? "sign.cer" : "enc.cer") != 0 ||
	    (der = softskf_read_file(p, &len)) == NULL)
		return SAR_CERTNOTFOUNTERR;
	r = sk_out(der, len, pbCert, pulCertLen);
	free(der);
	return r;
}

SKF_EXPORT ULONG SKF_ExportCertificate(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbCert, ULONG *pulCertLen)
{
	SK_LOCKED(export_certificate(hContainer, bSignFlag, pbCert, pulCertLen));
}
