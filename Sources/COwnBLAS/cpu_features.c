// What this CPU can run, from CPUID and XGETBV (never /proc/cpuinfo: under valgrind, which cannot run
// AVX-512, CPUID reports the CPU valgrind emulates, so we then choose kernels it can execute).
#include <cpuid.h>
#include <pthread.h>
#include <string.h>

#include "COwnBLAS.h"

/// The register sets the OS saves on context switches (XCR0), or 0 when XGETBV is not available.
static unsigned long long os_saved_state(bool osxsave) {
    if (!osxsave) return 0;
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static own_blas_cpu detected;
static pthread_once_t detected_once = PTHREAD_ONCE_INIT;

static void detect(void) {
    unsigned int a = 0, b = 0, c = 0, d = 0;
    unsigned int max_leaf = __get_cpuid_max(0, NULL);
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        memcpy(detected.vendor, &b, 4);
        memcpy(detected.vendor + 4, &d, 4);
        memcpy(detected.vendor + 8, &c, 4);
    }
    if (max_leaf >= 1 && __get_cpuid(1, &a, &b, &c, &d)) {
        bool osxsave = c & (1u << 27);
        unsigned long long xcr0 = os_saved_state(osxsave);
        bool ymm = (xcr0 & 0x6) == 0x6;        // SSE and AVX state
        bool zmm = (xcr0 & 0xe6) == 0xe6;      // and the AVX-512 opmask and upper ZMM state
        detected.sse3 = c & (1u << 0);
        detected.ssse3 = c & (1u << 9);
        detected.sse4_2 = c & (1u << 20);
        detected.avx = ymm && (c & (1u << 28));
        detected.fma = ymm && (c & (1u << 12));
        if (max_leaf >= 7 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) {
            detected.avx2 = ymm && (b & (1u << 5));
            detected.avx512f = zmm && (b & (1u << 16));
            detected.avx512dq = zmm && (b & (1u << 17));
            detected.avx512cd = zmm && (b & (1u << 28));
            detected.avx512bw = zmm && (b & (1u << 30));
            detected.avx512vl = zmm && (b & (1u << 31));
            unsigned int subleaves = a;
            if (subleaves >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) {
                detected.avx512_bf16 = zmm && (a & (1u << 5));
            }
        }
    }
    if (__get_cpuid_max(0x80000000, NULL) >= 0x80000004) {
        unsigned int words[12];
        for (unsigned int i = 0; i < 3; i++) {
            __get_cpuid(0x80000002 + i, &words[4 * i], &words[4 * i + 1], &words[4 * i + 2], &words[4 * i + 3]);
        }
        memcpy(detected.model, words, 48);
        // Brand strings are padded with spaces on either side.
        char *start = detected.model;
        while (*start == ' ') start++;
        memmove(detected.model, start, strlen(start) + 1);
        for (size_t n = strlen(detected.model); n > 0 && detected.model[n - 1] == ' '; n--) {
            detected.model[n - 1] = '\0';
        }
    }
}

const own_blas_cpu *own_blas_cpu_features(void) {
    pthread_once(&detected_once, detect);
    return &detected;
}

const char *own_blas_simd_level(const own_blas_cpu *cpu) {
    if (cpu->avx512f) return "avx512";
    if (cpu->avx2) return "avx2";
    if (cpu->avx) return "avx";
    if (cpu->sse3) return "sse";
    return "unknown";
}
