/*
 * Measures what the fp32 peak of this CPU is made of, per core, in CPU time (time the thread actually ran), so that
 * other processes sharing the machine do not lower the figures:
 *
 * - the clock: a chain of dependent integer adds, one per cycle on every x86-64 core (an add's latency is one cycle),
 *   so adds per CPU-second = cycles per second;
 * - fp32 FMA throughput with 512-, 256- and 128-bit vectors: 12 independent accumulators (more than the pipes times
 *   their latency on current cores), each updated by a fused multiply-add per iteration; flops = FMAs x lanes x 2.
 *
 * With `threads` > 1 the widest FMA loop also runs on that many threads at once (to see whether the clock drops when
 * every core is busy); each thread reports its own flops per CPU-second.
 *
 * Build: cc -O2 -pthread -o fma fma.c        Run: ./fma [threads]        Prints one JSON object.
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ACC 12

static double cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static volatile float sink;

/* Cycles per CPU-second: 100 dependent adds per iteration; the loop's own counter runs beside the chain. */
static double clock_hz(long iterations) {
  long x = 0;
  double t0 = cpu_seconds();
  for (long i = 0; i < iterations; i++) {
    __asm__ volatile(".rept 100\n\taddq $1, %0\n\t.endr" : "+r"(x));
  }
  double t = cpu_seconds() - t0;
  sink = (float)x;
  return (double)iterations * 100.0 / t;
}

/*
 * Each FMA loop returns fp32 flops per CPU-second. The accumulators are separate variables, not an array, so that the
 * compiler keeps all twelve in registers (an array made GCC reload each one from memory, which measures the
 * store-to-load latency instead of the FMA pipes).
 */
#define FMA12(FMADD)                                                                                                \
  a0 = FMADD(a0, b, c); a1 = FMADD(a1, b, c); a2 = FMADD(a2, b, c); a3 = FMADD(a3, b, c);                           \
  a4 = FMADD(a4, b, c); a5 = FMADD(a5, b, c); a6 = FMADD(a6, b, c); a7 = FMADD(a7, b, c);                           \
  a8 = FMADD(a8, b, c); a9 = FMADD(a9, b, c); a10 = FMADD(a10, b, c); a11 = FMADD(a11, b, c);
#define FMA_LOOP(NAME, TARGET, VEC, SET1, FMADD, ADD, STORE, LANES)                                                  \
  __attribute__((target(TARGET))) static double NAME(long iterations) {                                             \
    VEC a0 = SET1(1.000f), a1 = SET1(1.001f), a2 = SET1(1.002f), a3 = SET1(1.003f), a4 = SET1(1.004f);              \
    VEC a5 = SET1(1.005f), a6 = SET1(1.006f), a7 = SET1(1.007f), a8 = SET1(1.008f), a9 = SET1(1.009f);              \
    VEC a10 = SET1(1.010f), a11 = SET1(1.011f);                                                                     \
    const VEC b = SET1(0.9999999f), c = SET1(1e-7f);                                                                \
    double t0 = cpu_seconds();                                                                                      \
    for (long i = 0; i < iterations; i++) {                                                                         \
      FMA12(FMADD)                                                                                                  \
    }                                                                                                               \
    double t = cpu_seconds() - t0;                                                                                  \
    VEC s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));                                      \
    s = ADD(s, ADD(ADD(a8, a9), ADD(a10, a11)));                                                                    \
    float out[LANES];                                                                                               \
    STORE(out, s);                                                                                                  \
    sink = out[0];                                                                                                  \
    return (double)iterations * ACC * LANES * 2.0 / t;                                                              \
  }

FMA_LOOP(fma512, "avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_storeu_ps, 16)
FMA_LOOP(fma256, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, _mm256_storeu_ps, 8)
FMA_LOOP(fma128, "avx2,fma", __m128, _mm_set1_ps, _mm_fmadd_ps, _mm_add_ps, _mm_storeu_ps, 4)

/* Best of a few tries: a try that the scheduler interrupted (cache and pipeline refills) only ever reads low. */
static double best(double (*f)(long), long iterations, int tries) {
  double b = 0;
  for (int i = 0; i < tries; i++) {
    double v = f(iterations);
    if (v > b) b = v;
  }
  return b;
}

static int has512, has256;
static const long FMA_ITERATIONS = 20000000;

static void *thread_main(void *arg) {
  double *out = (double *)arg;
  *out = has512 ? best(fma512, FMA_ITERATIONS, 3) : best(fma256, FMA_ITERATIONS, 3);
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 1024) threads = 1;
  __builtin_cpu_init();
  has512 = __builtin_cpu_supports("avx512f");
  has256 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  double hz = best(clock_hz, 20000000, 5);
  double f512 = has512 ? best(fma512, FMA_ITERATIONS, 5) : 0;
  double f256 = has256 ? best(fma256, FMA_ITERATIONS, 5) : 0;
  double f128 = has256 ? best(fma128, FMA_ITERATIONS, 5) : 0;
  double *per = calloc((size_t)threads, sizeof(double));
  pthread_t *ids = calloc((size_t)threads, sizeof(pthread_t));
  if (per == NULL || ids == NULL) return 1;
  if (has256) {
    for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, thread_main, &per[i]);
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
  }
  printf("{\"clockHz\": %.0f, \"fma512FlopsPerSecond\": %.0f, \"fma256FlopsPerSecond\": %.0f, "
         "\"fma128FlopsPerSecond\": %.0f, \"threads\": %d, \"widest\": %d, \"perThreadFlopsPerSecond\": [",
         hz, f512, f256, f128, threads, has512 ? 512 : has256 ? 256 : 0);
  for (int i = 0; i < threads; i++) printf("%s%.0f", i ? ", " : "", has256 ? per[i] : 0.0);
  printf("]}\n");
  free(per);
  free(ids);
  return 0;
}
