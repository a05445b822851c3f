/*
 * Test-only stand-in for Windows' bcryptprimitives.dll, for running
 * MailFerry.exe under Wine 8 (Debian bookworm), which lacks it.
 *
 * Go >= 1.22 programs take their random bytes from ProcessPrng in
 * bcryptprimitives.dll (present on every Windows 10/11). This DLL exports
 * ProcessPrng and answers it through RtlGenRandom (advapi32's
 * SystemFunction036), which Wine has. .ci/wine-test builds it with mingw
 * and copies it into the private Wine prefix's system32. It is never
 * shipped: the product runs on Windows, which has the real DLL.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
