/* The SKF interface (GM/T 0016-2012, 智能密码钥匙密码应用接口规范) as certdesk uses it: the types,
 * packed structures, constants and the functions certdesk-agent calls and the software test key
 * (libcertdesk-softskf) exports. Written from the standard's function list; see
 * ../shared/reference/domain.md §11 and pki.md "Software SKF token".
 *
 * ULONG width. The standard means a 32-bit ULONG, but vendors' Linux headers disagree: some typedef it
 * as the native `unsigned long` (8 bytes on 64-bit Linux). It changes every ULONG* out-parameter, every
 * return value and the layout of DEVINFO, ECCPUBLICKEYBLOB, ECCCIPHERBLOB, ENVELOPEDKEYBLOB and
 * FILEATTRIBUTE. This header is therefore compiled for ONE width, chosen by SKF_ULONG_BITS (32, the
 * default, or 64) before it is included; code that must speak both (the agent's loader) is compiled
 * twice, once per width. BOOL is a 32-bit int in every vendor header seen; handles are pointers. */
#ifndef CERTDESK_SKF_ABI_H
#define CERTDESK_SKF_ABI_H

#include <stdint.h>

#ifndef SKF_ULONG_BITS
#define SKF_ULONG_BITS 32
#endif

#if SKF_ULONG_BITS == 32
typedef uint32_t ULONG;
#elif SKF_ULONG_BITS == 64
typedef uint64_t ULONG;
#else
#error "SKF_ULONG_BITS must be 32 or 64"
#endif

typedef uint8_t BYTE;
typedef char CHAR;
typedef int32_t BOOL;
typedef uint32_t DWORD;
typedef char *LPSTR;
typedef void *HANDLE;
typedef HANDLE DEVHANDLE;
typedef HANDLE HAPPLICATION;
typedef HANDLE HCONTAINER;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

#define SKF_ECC_FIELD 64 /* bytes of an ECC coordinate field; a 256-bit value sits in the last 32 */
#define SKF_MAX_IV_LEN 32
#define SKF_MAX_FILE_NAME_SIZE 32
#define SKF_MAX_NAME_LEN 64 /* application / container names, certdesk's own limit */

#pragma pack(push, 1)
typedef struct {
	BYTE major;
	BYTE minor;
} VERSION;

typedef struct {
	VERSION Version;
	CHAR Manufacturer[64];
	CHAR Issuer[64];
	CHAR Label[32];
	CHAR SerialNumber[32];
	VERSION HWVersion;
	VERSION FirmwareVersion;
	ULONG AlgSymCap;
	ULONG AlgAsymCap;
	ULONG AlgHashCap;
	ULONG DevAuthAlgId;
	ULONG TotalSpace;
	ULONG FreeSpace;
	ULONG MaxECCBufferSize;
	ULONG MaxBufferSize;
	BYTE Reserved[64];
} DEVINFO;

typedef struct {
	ULONG BitLen;
	BYTE XCoordinate[SKF_ECC_FIELD];
	BYTE YCoordinate[SKF_ECC_FIELD];
} ECCPUBLICKEYBLOB;

typedef struct {
	BYTE XCoordinate[SKF_ECC_FIELD];
	BYTE YCoordinate[SKF_ECC_FIELD];
	BYTE HASH[32];
	ULONG CipherLen;
	BYTE Cipher[1]; /* CipherLen bytes in fact: the structure is allocated larger */
} ECCCIPHERBLOB;

typedef struct {
	BYTE r[SKF_ECC_FIELD];
	BYTE s[SKF_ECC_FIELD];
} ECCSIGNATUREBLOB;

typedef struct {
	ULONG Version;
	ULONG ulSymmAlgID;
	ULONG ulBits;
	BYTE cbEncryptedPriKey[64];
	ECCPUBLICKEYBLOB PubKey;
	ECCCIPHERBLOB ECCCipherBlob; /* with a 16-byte session key: Cipher holds 16 bytes */
} ENVELOPEDKEYBLOB;

typedef struct {
	CHAR FileName[SKF_MAX_FILE_NAME_SIZE];
	ULONG FileSize;
	ULONG ReadRights;
	ULONG WriteRights;
} FILEATTRIBUTE;
#pragma pack(pop)

/* Algorithm identifiers (GM/T 0006) */
#define SGD_SM1_ECB 0x00000101
#define SGD_SM4_ECB 0x00000401
#define SGD_SM4_CBC 0x00000402
#define SGD_RSA 0x00010000
#define SGD_SM2_1 0x00020100 /* SM2 signature */
#define SGD_SM2_2 0x00020200 /* SM2 key exchange */
#define SGD_SM2_3 0x00020400 /* SM2 encryption */
#define SGD_SM3 0x00000001

/* PIN types, container types, rights, device states */
#define SKF_ADMIN_TYPE 0
#define SKF_USER_TYPE 1
#define SKF_CONTAINER_EMPTY 0
#define SKF_CONTAINER_RSA 1
#define SKF_CONTAINER_ECC 2
#define SECURE_NEVER_ACCOUNT 0x00000000
#define SECURE_ADM_ACCOUNT 0x00000001
#define SECURE_USER_ACCOUNT 0x00000010
#define SECURE_ANYONE_ACCOUNT 0x000000FF
#define SKF_DEV_ABSENT_STATE 0x00000000
#define SKF_DEV_PRESENT_STATE 0x00000001

/* Return codes */
#define SAR_OK 0x00000000
#define SAR_FAIL 0x0A000001
#define SAR_UNKNOWNERR 0x0A000002
#define SAR_NOTSUPPORTYETERR 0x0A000003
#define SAR_FILEERR 0x0A000004
#define SAR_INVALIDHANDLEERR 0x0A000005
#define SAR_INVALIDPARAMERR 0x0A000006
#define SAR_READFILEERR 0x0A000007
#define SAR_WRITEFILEERR 0x0A000008
#define SAR_NAMELENERR 0x0A000009
#define SAR_KEYUSAGEERR 0x0A00000A
#define SAR_MODULUSLENERR 0x0A00000B
#define SAR_NOTINITIALIZEERR 0x0A00000C
#define SAR_OBJERR 0x0A00000D
#define SAR_MEMORYERR 0x0A00000E
#define SAR_TIMEOUTERR 0x0A00000F
#define SAR_INDATALENERR 0x0A000010
#define SAR_INDATAERR 0x0A000011
#define SAR_GENRANDERR 0x0A000012
#define SAR_HASHOBJERR 0x0A000013
#define SAR_HASHERR 0x0A000014
#define SAR_KEYNOTFOUNTERR 0x0A00001B
#define SAR_CERTNOTFOUNTERR 0x0A00001C
#define SAR_NOTEXPORTERR 0x0A00001D
#define SAR_BUFFER_TOO_SMALL 0x0A000020
#define SAR_DEVICE_REMOVED 0x0A000023
#define SAR_PIN_INCORRECT 0x0A000024
#define SAR_PIN_LOCKED 0x0A000025
#define SAR_PIN_INVALID 0x0A000026
#define SAR_PIN_LEN_RANGE 0x0A000027
#define SAR_USER_ALREADY_LOGGED_IN 0x0A000028
#define SAR_USER_PIN_NOT_INITIALIZED 0x0A000029
#define SAR_USER_TYPE_INVALID 0x0A00002A
#define SAR_APPLICATION_NAME_INVALID 0x0A00002B
#define SAR_APPLICATION_EXISTS 0x0A00002C
#define SAR_USER_NOT_LOGGED_IN 0x0A00002D
#define SAR_APPLICATION_NOT_EXISTS 0x0A00002E
#define SAR_FILE_ALREADY_EXIST 0x0A00002F
#define SAR_NO_ROOM 0x0A000030
#define SAR_FILE_NOT_EXIST 0x0A000031
#define SAR_REACH_MAX_CONTAINER_COUNT 0x0A000032

/* The functions, as X(return type, name, parameter list) so that a loader can build its table of
 * pointers from the same list that declares them. */
#define SKF_FUNCTIONS(X)                                                                                        \
	X(ULONG, SKF_EnumDev, (BOOL bPresent, LPSTR szNameList, ULONG *pulSize))                                \
	X(ULONG, SKF_ConnectDev, (LPSTR szName, DEVHANDLE *phDev))                                              \
	X(ULONG, SKF_DisConnectDev, (DEVHANDLE hDev))                                                           \
	X(ULONG, SKF_GetDevState, (LPSTR szDevName, ULONG *pulDevState))                                        \
	X(ULONG, SKF_GetDevInfo, (DEVHANDLE hDev, DEVINFO *pDevInfo))                                           \
	X(ULONG, SKF_SetLabel, (DEVHANDLE hDev, LPSTR szLabel))                                                 \
	X(ULONG, SKF_GenRandom, (DEVHANDLE hDev, BYTE *pbRandom, ULONG ulRandomLen))                            \
	X(ULONG, SKF_DevAuth, (DEVHANDLE hDev, BYTE *pbAuthData, ULONG ulLen))                                  \
	X(ULONG, SKF_ChangeDevAuthKey, (DEVHANDLE hDev, BYTE *pbKeyValue, ULONG ulKeyLen))                      \
	X(ULONG, SKF_CreateApplication,                                                                         \
	  (DEVHANDLE hDev, LPSTR szAppName, LPSTR szAdminPin, DWORD dwAdminPinRetryCount, LPSTR szUserPin,     \
	   DWORD dwUserPinRetryCount, DWORD dwCreateFileRights, HAPPLICATION *phApplication))                   \
	X(ULONG, SKF_EnumApplication, (DEVHANDLE hDev, LPSTR szAppName, ULONG *pulSize))                        \
	X(ULONG, SKF_DeleteApplication, (DEVHANDLE hDev, LPSTR szAppName))                                      \
	X(ULONG, SKF_OpenApplication, (DEVHANDLE hDev, LPSTR szAppName, HAPPLICATION *phApplication))           \
	X(ULONG, SKF_CloseApplication, (HAPPLICATION hApplication))                                             \
	X(ULONG, SKF_ChangePIN,                                                                                 \
	  (HAPPLICATION hApplication, ULONG ulPINType, LPSTR szOldPin, LPSTR szNewPin, ULONG *pulRetryCount))  \
	X(ULONG, SKF_GetPINInfo,                                                                                \
	  (HAPPLICATION hApplication, ULONG ulPINType, ULONG *pulMaxRetryCount, ULONG *pulRemainRetryCount,    \
	   BOOL *pbDefaultPin))                                                                                 \
	X(ULONG, SKF_VerifyPIN, (HAPPLICATION hApplication, ULONG ulPINType, LPSTR szPIN, ULONG *pulRetryCount)) \
	X(ULONG, SKF_UnblockPIN,                                                                                \
	  (HAPPLICATION hApplication, LPSTR szAdminPIN, LPSTR szNewUserPIN, ULONG *pulRetryCount))             \
	X(ULONG, SKF_ClearSecureState, (HAPPLICATION hApplication))                                             \
	X(ULONG, SKF_CreateFile,                                                                                \
	  (HAPPLICATION hApplication, LPSTR szFileName, ULONG ulFileSize, ULONG ulReadRights, ULONG ulWriteRights)) \
	X(ULONG, SKF_DeleteFile, (HAPPLICATION hApplication, LPSTR szFileName))                                 \
	X(ULONG, SKF_EnumFiles, (HAPPLICATION hApplication, LPSTR szFileList, ULONG *pulSize))                  \
	X(ULONG, SKF_GetFileInfo, (HAPPLICATION hApplication, LPSTR szFileName, FILEATTRIBUTE *pFileInfo))      \
	X(ULONG, SKF_ReadFile,                                                                                  \
	  (HAPPLICATION hApplication, LPSTR szFileName, ULONG ulOffset, ULONG ulSize, BYTE *pbOutData,         \
	   ULONG *pulOutLen))                                                                                   \
	X(ULONG, SKF_WriteFile,                                                                                 \
	  (HAPPLICATION hApplication, LPSTR szFileName, ULONG ulOffset, BYTE *pbData, ULONG ulSize))           \
	X(ULONG, SKF_CreateContainer, (HAPPLICATION hApplication, LPSTR szContainerName, HCONTAINER *phContainer)) \
	X(ULONG, SKF_DeleteContainer, (HAPPLICATION hApplication, LPSTR szContainerName))                       \
	X(ULONG, SKF_OpenContainer, (HAPPLICATION hApplication, LPSTR szContainerName, HCONTAINER *phContainer)) \
	X(ULONG, SKF_CloseContainer, (HCONTAINER hContainer))                                                   \
	X(ULONG, SKF_EnumContainer, (HAPPLICATION hApplication, LPSTR szContainerName, ULONG *pulSize))         \
	X(ULONG, SKF_GetContainerType, (HCONTAINER hContainer, ULONG *pulContainerType))                        \
	X(ULONG, SKF_ImportCertificate, (HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbCert, ULONG ulCertLen)) \
	X(ULONG, SKF_ExportCertificate, (HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbCert, ULONG *pulCertLen)) \
	X(ULONG, SKF_GenECCKeyPair, (HCONTAINER hContainer, ULONG ulAlgId, ECCPUBLICKEYBLOB *pBlob))            \
	X(ULONG, SKF_ImportECCKeyPair, (HCONTAINER hContainer, ENVELOPEDKEYBLOB *pEnvelopedKeyBlob))            \
	X(ULONG, SKF_ECCSignData,                                                                               \
	  (HCONTAINER hContainer, BYTE *pbDigest, ULONG ulDigestLen, ECCSIGNATUREBLOB *pSignature))            \
	X(ULONG, SKF_ECCVerify,                                                                                 \
	  (DEVHANDLE hDev, ECCPUBLICKEYBLOB *pECCPubKeyBlob, BYTE *pbData, ULONG ulDataLen,                    \
	   ECCSIGNATUREBLOB *pSignature))                                                                       \
	X(ULONG, SKF_ExportPublicKey, (HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbBlob, ULONG *pulBlobLen))

#define SKF_DECLARE(ret, name, params) ret name params;
#ifndef SKF_NO_PROTOTYPES
SKF_FUNCTIONS(SKF_DECLARE)
#endif
#undef SKF_DECLARE

#endif
