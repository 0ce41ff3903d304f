/* Files of an application of the software key: the size is fixed at creation (as on a real key),
 * the contents live in apps/APP/files/NAME, the attributes in app.json "files". Reading and writing
 * need the file's read / write rights; creating needs the application's create rights. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "softskf/softskf_int.h"

#define FILE_MAX (1024 * 1024)

/* Checks a file name (at most 32 bytes). Returns SAR_OK, SAR_INVALIDPARAMERR or SAR_NAMELENERR. */
static ULONG file_name_check(const char *name)
{
	if (name == NULL)
		return SAR_INVALIDPARAMERR;
	if (strnlen(name, SKF_MAX_FILE_NAME_SIZE + 1) > SKF_MAX_FILE_NAME_SIZE)
		return SAR_NAMELENERR;
	return softskf_name_ok(name, SKF_MAX_FILE_NAME_SIZE) ? SAR_OK : SAR_INVALIDPARAMERR;
}

/* The path of the contents of file name of a into out. Returns 0 or -1. */
static int file_path(const struct sk_app *a, const char *name, char *out, size_t outlen)
{
	char fs[SOFTSKF_PATH_MAX];
	return softskf_path(fs, sizeof(fs), a->path, "files") == 0 ? softskf_path(out, outlen, fs, name) : -1;
}

/* Opens the application of h and its state; *attr the attributes of file name when name is not NULL.
 * Returns SAR_OK (caller decrefs *st) or an error. */
static ULONG file_begin(HAPPLICATION h, int change, const char *name, struct sk_app **a, json_t **st, json_t **attr)
{
	ULONG r = sk_app_get(h, change, a);

	if (r != SAR_OK)
		return r;
	if (name != NULL && (r = file_name_check(name)) != SAR_OK)
		return r;
	if ((*st = sk_app_state(*a)) == NULL)
		return SAR_READFILEERR;
	if (name != NULL) {
		*attr = json_object_get(json_object_get(*st, "files"), name);
		if (*attr == NULL) {
			json_decref(*st);
			return SAR_FILE_NOT_EXIST;
		}
	}
	return SAR_OK;
}

/* Reads an unsigned member of a file's attributes. */
static ULONG attr_u(const json_t *attr, const char *key)
{
	return (ULONG)json_integer_value(json_object_get(attr, key));
}

static ULONG create_file(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulFileSize, ULONG ulReadRights,
			 ULONG ulWriteRights)
{
	struct sk_app *a;
	json_t *st = NULL, *files;
	char p[SOFTSKF_PATH_MAX];
	unsigned char *zero;
	ULONG r = file_begin(hApplication, 1, NULL, &a, &st, NULL);

	if (r != SAR_OK)
		return r;
	files = json_object_get(st, "files");
	if ((r = file_name_check(szFileName)) != SAR_OK)
		goto out;
	r = SAR_NO_ROOM;
	if (ulFileSize > FILE_MAX)
		goto out;
	r = SAR_USER_NOT_LOGGED_IN;
	if (!sk_rights_ok(a, attr_u(st, "create_rights")))
		goto out;
	r = SAR_FILE_ALREADY_EXIST;
	if (json_object_get(files, szFileName) != NULL)
		goto out;
	r = SAR_WRITEFILEERR;
	zero = calloc(1, ulFileSize + 1);
	/* contents first, then the attributes that make the file exist */
	if (zero != NULL && file_path(a, szFileName, p, sizeof(p)) == 0 &&
	    softskf_write_file(p, zero, ulFileSize) == 0 &&
	    json_object_set_new(files, szFileName,
				json_pack("{s:I, s:I, s:I}", "size", (json_int_t)ulFileSize, "read",
					  (json_int_t)ulReadRights, "write", (json_int_t)ulWriteRights)) == 0)
		r = sk_app_save(a, st);
	free(zero);
out:
	json_decref(st);
	return r;
}

SKF_EXPORT ULONG SKF_CreateFile(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulFileSize, ULONG ulReadRights,
				ULONG ulWriteRights)
{
	SK_LOCKED(create_file(hApplication, szFileName, ulFileSize, ulReadRights, ulWriteRights));
}

/* Deleting a file needs its write rights. */
static ULONG delete_file(HAPPLICATION hApplication, LPSTR szFileName)
{
	struct sk_app *a;
	json_t *st = NULL, *attr = NULL;
	char p[SOFTSKF_PATH_MAX];
	ULONG r = file_begin(hApplication, 1, szFileName, &a, &st, &attr);

	if (r != SAR_OK)
		return r;
	if (!sk_rights_ok(a, attr_u(attr, "write")))
		r = SAR_USER_NOT_LOGGED_IN;
	else if (json_object_del(json_object_get(st, "files"), szFileName) != 0)
		r = SAR_FAIL;
	else if ((r = sk_app_save(a, st)) == SAR_OK && file_path(a, szFileName, p, sizeof(p)) == 0)
		unlink(p);
	json_decref(st);
	return r;
}

SKF_EXPORT ULONG SKF_DeleteFile(HAPPLICATION hApplication, LPSTR szFileName)
{
	SK_LOCKED(delete_file(hApplication, szFileName));
}

static ULONG enum_files(HAPPLICATION hApplication, LPSTR szFileList, ULONG *pulSize)
{
	struct sk_app *a;
	json_t *st = NULL, *v;
	const char *k;
	char **names;
	size_t n = 0;
	ULONG r = file_begin(hApplication, 0, NULL, &a, &st, NULL);

	if (r != SAR_OK)
		return r;
	names = calloc(json_object_size(json_object_get(st, "files")) + 1, sizeof(char *));
	if (names == NULL) {
		json_decref(st);
		return SAR_MEMORYERR;
	}
	json_object_foreach(json_object_get(st, "files"), k, v)
		names[n++] = (char *)k;
	r = pulSize == NULL ? SAR_INVALIDPARAMERR : sk_multistr(names, szFileList, pulSize);
	free(names);
	json_decref(st);
	return r;
}

SKF_EXPORT ULONG SKF_EnumFiles(HAPPLICATION hApplication, LPSTR szFileList, ULONG *pulSize)
{
	SK_LOCKED(enum_files(hApplication, szFileList, pulSize));
}

static ULONG get_file_info(HAPPLICATION hApplication, LPSTR szFileName, FILEATTRIBUTE *pFileInfo)
{
	struct sk_app *a;
	json_t *st = NULL, *attr = NULL;
	ULONG r;

	if (pFileInfo == NULL)
		return sk_app_get(hApplication, 0, &a) == SAR_OK ? SAR_INVALIDPARAMERR : SAR_INVALIDHANDLEERR;
	if ((r = file_begin(hApplication, 0, szFileName, &a, &st, &attr)) != SAR_OK)
		return r;
	memset(pFileInfo, 0, sizeof(*pFileInfo));
	/* a 32-byte name fills FileName without a NUL, as the standard's field allows */
	memcpy(pFileInfo->FileName, szFileName, strnlen(szFileName, SKF_MAX_FILE_NAME_SIZE));
	pFileInfo->FileSize = attr_u(attr, "size");
	pFileInfo->ReadRights = attr_u(attr, "read");
	pFileInfo->WriteRights = attr_u(attr, "write");
	json_decref(st);
	return SAR_OK;
}

SKF_EXPORT ULONG SKF_GetFileInfo(HAPPLICATION hApplication, LPSTR szFileName, FILEATTRIBUTE *pFileInfo)
{
	SK_LOCKED(get_file_info(hApplication, szFileName, pFileInfo));
}

/* *pulOutLen is the buffer's size on input: pbOutData NULL gives the byte count, a too small buffer
 * SAR_BUFFER_TOO_SMALL. Reads min(ulSize, size - ulOffset) bytes. */
static ULONG read_file(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulOffset, ULONG ulSize, BYTE *pbOutData,
		       ULONG *pulOutLen)
{
	struct sk_app *a;
	json_t *st = NULL, *attr = NULL;
	char p[SOFTSKF_PATH_MAX];
	unsigned char *data = NULL;
	size_t len = 0;
	ULONG r = file_begin(hApplication, 0, szFileName, &a, &st, &attr);

	if (r != SAR_OK)
		return r;
	if (pulOutLen == NULL)
		r = SAR_INVALIDPARAMERR;
	else if (!sk_rights_ok(a, attr_u(attr, "read")))
		r = SAR_USER_NOT_LOGGED_IN;
	else if (file_path(a, szFileName, p, sizeof(p)) != 0 || (data = softskf_read_file(p, &len)) == NULL)
		r = SAR_READFILEERR;
	else if (ulOffset > len)
		r = SAR_INDATALENERR;
	else
		r = sk_out(data + ulOffset, ulSize < len - ulOffset ? ulSize : len - ulOffset, pbOutData, pulOutLen);
	free(data);
	json_decref(st);
	return r;
}

SKF_EXPORT ULONG SKF_ReadFile(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulOffset, ULONG ulSize,
			      BYTE *pbOutData, ULONG *pulOutLen)
{
	SK_LOCKED(read_file(hApplication, szFileName, ulOffset, ulSize, pbOutData, pulOutLen));
}

/* Writing past the size fixed at creation answers SAR_INDATALENERR. */
static ULONG write_file(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulOffset, BYTE *pbData, ULONG ulSize)
{
	struct sk_app *a;
	json_t *st = NULL, *attr = NULL;
	char p[SOFTSKF_PATH_MAX];
	unsigned char *data = NULL;
	size_t len = 0;
	ULONG r = file_begin(hApplication, 1, szFileName, &a, &st, &attr);

	if (r != SAR_OK)
		return r;
	if (pbData == NULL && ulSize > 0)
		r = SAR_INVALIDPARAMERR;
	else if (!sk_rights_ok(a, attr_u(attr, "write")))
		r = SAR_USER_NOT_LOGGED_IN;
	else if (file_path(a, szFileName, p, sizeof(p)) != 0 || (data = softskf_read_file(p, &len)) == NULL)
		r = SAR_READFILEERR;
	else if (ulOffset > len || ulSize > len - ulOffset)
		r = SAR_INDATALENERR;
	else {
		if (ulSize > 0)
			memcpy(data + ulOffset, pbData, ulSize);
		r = softskf_write_file(p, data, len) == 0 ? SAR_OK : SAR_WRITEFILEERR;
	}
	free(data);
	json_decref(st);
	return r;
}

SKF_EXPORT ULONG SKF_WriteFile(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulOffset, BYTE *pbData, ULONG ulSize)
{
	SK_LOCKED(write_file(hApplication, szFileName, ulOffset, pbData, ulSize));
}
