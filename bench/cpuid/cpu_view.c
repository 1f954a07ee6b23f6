/* An audit-library shim that makes a process see a smaller x86-64 CPU: it turns on CPUID
 * faulting for the process (arch_prctl ARCH_SET_CPUID; Linux, on CPUs whose /proc/cpuinfo
 * flags list cpuid_fault), answers each trapped CPUID with the real one, and clears feature
 * bits. Built plain, it shows an AVX2-only CPU: everything above AVX2 goes (AVX-512 in all its
 * parts, AVX-VNNI, AVX512-BF16/FP16, AMX). Built with -DMTST_VIEW_AVX512_CORE, it shows a
 * Skylake-class AVX-512 CPU: AVX512 F, DQ, CD, BW and VL stay; VNNI (AVX-512 and AVX), BF16,
 * FP16, IFMA, VBMI and AMX go (GFNI, VAES and VPCLMULQDQ, which Skylake lacks, stay: no
 * engine's matrix products use them). Every library that picks kernels from CPUID after
 * start-up (oneDNN, ONNX Runtime's MLAS, OpenVINO, NumPy) then takes that CPU's path, with no
 * emulation: the instructions that remain run at full speed. It is loaded as an audit
 * library, before every other library; the dynamic loader itself reads CPUID before that, so
 * its choice of glibc's string functions is masked with GLIBC_TUNABLES
 * (bench/encode_vs_peers.sh). Threads inherit the faulting from the
 * thread that starts them; exec() clears it, and the loader sets it again.
 *   cc -O2 -shared -fPIC -o avx2_view.so cpu_view.c
 *   cc -O2 -shared -fPIC -DMTST_VIEW_AVX512_CORE -o avx512_core_view.so cpu_view.c
 *   LD_AUDIT=$PWD/avx2_view.so COMMAND */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static int set_cpuid_faulting(int on) {
  return (int)syscall(SYS_arch_prctl, ARCH_SET_CPUID, on ? 0 : 1);
}

static void real_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

/* EBX of leaf 7: AVX512F 16, DQ 17, CD 28, BW 30, VL 31 (Skylake's AVX-512). */
#define AVX512_CORE_BITS ((1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31))
#ifdef MTST_VIEW_AVX512_CORE
#define KEPT_EBX AVX512_CORE_BITS
#define VIEW_NAME "avx512_core_view.so"
#else
#define KEPT_EBX 0u
#define VIEW_NAME "avx2_view.so"
#endif

/* Feature bits above the view's ISA, cleared from leaf 7. */
static void mask(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  if (leaf != 7) return;
  if (sub == 0) {
    /* EBX: the AVX-512 core bits above, IFMA 21, PF 26, ER 27. */
    r[1] &= ~((AVX512_CORE_BITS & ~KEPT_EBX) | (1u << 21) | (1u << 26) | (1u << 27));
    /* ECX: VBMI 1, VBMI2 6, VNNI 11, BITALG 12, VPOPCNTDQ 14. */
    r[2] &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
    /* EDX: 4VNNIW 2, 4FMAPS 3, VP2INTERSECT 8, AMX-BF16 22, AVX512-FP16 23, AMX-TILE 24,
     * AMX-INT8 25. */
    r[3] &=
        ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25));
  } else if (sub == 1) {
    /* EAX: AVX-VNNI 4, AVX512-BF16 5. */
    r[0] &= ~((1u << 4) | (1u << 5));
  }
}

static void on_sigsegv(int sig, siginfo_t* info, void* context) {
  ucontext_t* uc = (ucontext_t*)context;
  greg_t* g = uc->uc_mcontext.gregs;
  const uint8_t* ip = (const uint8_t*)g[REG_RIP];
  if (ip[0] != 0x0f || ip[1] != 0xa2) { /* not a CPUID: a real fault */
    signal(sig, SIG_DFL);
    (void)info;
    return; /* re-executes the instruction, which faults again into the default action */
  }
  uint32_t r[4];
  const uint32_t leaf = (uint32_t)g[REG_RAX], sub = (uint32_t)g[REG_RCX];
  set_cpuid_faulting(0);
  real_cpuid(leaf, sub, r);
  set_cpuid_faulting(1);
  mask(leaf, sub, r);
  g[REG_RAX] = r[0];
  g[REG_RBX] = r[1];
  g[REG_RCX] = r[2];
  g[REG_RDX] = r[3];
  g[REG_RIP] += 2;
}

static void start(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = on_sigsegv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, NULL) != 0 || set_cpuid_faulting(1) != 0) {
    fprintf(stderr, VIEW_NAME ": this CPU or kernel has no CPUID faulting (cpuid_fault)\n");
    exit(70);
  }
}

/* Loaded with LD_AUDIT, the shim starts before any other library is loaded, so that none of
 * them can read CPUID first (with LD_PRELOAD, libraries initialised earlier would). */
unsigned int la_version(unsigned int version) {
  start();
  return version;
}
