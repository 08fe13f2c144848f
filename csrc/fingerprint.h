/*
 * fingerprint.h - the structural hash of a decoded value, shared by the
 * pager (which walks a Lua table, csrc/pager.c) and the JSON decoder (which
 * computes the same hash of every array it builds near the top of a document,
 * csrc/json.c, so the pager need not walk a page it decoded).
 *
 * Equal content, equal hash, whatever order an object's keys come in: a
 * container's hash is mix(7 + the sum of mix(key * 31 + value) over its
 * entries), an array's keys being its indexes as numbers. Scalars: true 2,
 * false 3, a number mix(bits of its double, -0 as 0, ^ 4), a string
 * scv_fp_bytes of its bytes, the JSON null (a userdata) 8. A table nested
 * more than SCV_FP_DEPTH levels below the value hashed counts as 6.
 */
#ifndef SCV_FINGERPRINT_H
#define SCV_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SCV_FP_DEPTH 32
#define SCV_FP_TRUE 2
#define SCV_FP_FALSE 3
#define SCV_FP_DEEP 6
#define SCV_FP_TABLE 7 /* a container's starting sum */
#define SCV_FP_NULL 8
/* Registry key of the weak-keyed table {array -> 8-byte hash} the decoder fills. */
#define SCV_FP_REG "scravio.fingerprints"

static inline uint64_t scv_fp_mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

/* A string's bytes, eight at a time. */
static inline uint64_t scv_fp_bytes(const unsigned char *p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n) {
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0x100000001b3ULL;
  }
  return scv_fp_mix(h ^ 5);
}

static inline uint64_t scv_fp_number(double n) {
  uint64_t bits;
  if (n == 0) n = 0; /* -0 and 0 are the same value */
  memcpy(&bits, &n, sizeof bits);
  return scv_fp_mix(bits ^ 4);
}

/* One entry of a container: add it to the container's sum. */
static inline uint64_t scv_fp_entry(uint64_t k, uint64_t v) { return scv_fp_mix(k * 31 + v); }

#endif
