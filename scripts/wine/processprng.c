/*
 * bcryptprimitives.dll shim for Wine 8.
 *
 * Rust's std (>= 1.78) gets its randomness from ProcessPrng in
 * bcryptprimitives.dll (Windows 10+). Wine 8 ships no such DLL, so every
 * Rust .exe fails to start (status c0000135). This shim exports
 * ProcessPrng and fills the buffer through RtlGenRandom (exported by
 * advapi32 as SystemFunction036), which Wine implements.
 *
 * Build (scripts/wine/setup.sh does this):
 *   x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll processprng.c -ladvapi32
 *
 * On x86_64 there is no stdcall name decoration, so __declspec(dllexport)
 * exports the plain name "ProcessPrng"; no .def file is needed
 * (setup.sh checks the export table with objdump anyway).
 *
 * Only for running tests under Wine: never ship it.
 */
#include <windows.h>

/* RtlGenRandom takes a ULONG length; loop for buffers >= 4 GiB. */
BOOLEAN WINAPI SystemFunction036(PVOID RandomBuffer, ULONG RandomBufferLength);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE pbData, SIZE_T cbData)
{
    while (cbData > 0) {
        ULONG chunk = cbData > 0x80000000u ? 0x80000000u : (ULONG)cbData;
        if (!SystemFunction036(pbData, chunk))
            return FALSE;
        pbData += chunk;
        cbData -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)inst;
    (void)reason;
    (void)reserved;
    return TRUE;
}
