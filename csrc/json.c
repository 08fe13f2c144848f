/*
 * scravio-lua: JSON codec of the C core.  See json.h for the contract.
 *
 * Design notes
 * - Decoding is a single, non-recursive pass over the input: containers are
 *   tracked in an explicit frame stack, values are pushed straight onto the
 *   Lua stack.  Small containers collect their items on the Lua stack and
 *   the table is created with its exact size when the container closes
 *   (no rehashing); containers with more than DEC_PEND_* items switch to
 *   direct insertion into a table presized for twice that.
 * - Encoding is non-recursive as well; the output goes to a growable buffer.
 *   Object keys are collected with lua_next, anchored (Lua stack, or a
 *   private table past ENC_STACK_BUDGET) so that a finalizer or a weak
 *   table changing the table mid-way cannot free them, then sorted.
 * - Floats: decoding uses an exact fast path (<= 2^53 mantissa, |exp| <=
 *   22) and strtod otherwise; encoding prints values with <= 15
 *   significant digits directly and falls back to %.15g/%.16g/%.17g.
 *   Both are independent of the C locale's decimal point.
 * - All scratch memory that can outgrow the C stack lives in full userdata
 *   anchored in reserved Lua stack slots, so a memory error raised by the
 *   Lua allocator at any point leaks nothing.  No global mutable state.
 * - Error paths never raise: they fill `err` and restore the stack.
 */
#include "json.h"
#include "fingerprint.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if LUA_VERSION_NUM >= 503
#define SCV_HAS_INT 1
#else
#define SCV_HAS_INT 0
#endif

#if LUA_VERSION_NUM >= 502
#define scv_rawlen(L, i) lua_rawlen((L), (i))
#else
#define scv_rawlen(L, i) lua_objlen((L), (i))
#endif

#if LUA_VERSION_NUM >= 504
#define scv_newud(L, n) lua_newuserdatauv((L), (n), 0)
#else
#define scv_newud(L, n) lua_newuserdata((L), (n))
#endif

#if LUA_VERSION_NUM >= 503
typedef lua_Integer scv_idx_t; /* type of lua_rawgeti/lua_rawseti index */
#else
typedef int scv_idx_t;
#endif

#if defined(__GNUC__)
#define SCV_LIKELY(x) __builtin_expect(!!(x), 1)
#define SCV_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SCV_INLINE static inline __attribute__((always_inline))
#define SCV_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SCV_LIKELY(x) (x)
#define SCV_UNLIKELY(x) (x)
#define SCV_INLINE static inline
#define SCV_PRINTF(a, b)
#endif

/* Exact double arithmetic for the decimal fast path needs no excess
   precision (x87 would double-round). */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define SCV_FAST_FLOAT 1
#else
#define SCV_FAST_FLOAT 0
#endif

/* ------------------------------------------------------------------ */
/* Shared helpers                                                      */
/* ------------------------------------------------------------------ */

static void scv_set_err(char *err, size_t errlen, const char *fmt, ...)
    SCV_PRINTF(3, 4);

static void scv_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Byte classes: 1 for bytes that end a plain string run (", \ and
   control characters < 0x20).  Shared by decoder and encoder. */
static const unsigned char str_special[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* '"' = 0x22 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* '\\' = 0x5c */
    /* 0x60 .. 0xff: zero */
};

#define SWAR_ONES 0x0101010101010101ULL
#define SWAR_HIGH 0x8080808080808080ULL

/* High bit set in each byte of w that is '"', '\\' or < 0x20 (zero when
   none is).  The lowest flagged byte is always a real match: borrows only
   propagate upwards out of bytes that match, so a higher flag may be
   spurious, never the first one. */
SCV_INLINE uint64_t swar_special(uint64_t w)
{
    uint64_t q = w ^ (SWAR_ONES * 0x22u);
    uint64_t b = w ^ (SWAR_ONES * 0x5cu);
    uint64_t t = ((q - SWAR_ONES) & ~q) | ((b - SWAR_ONES) & ~b) |
                 ((w - SWAR_ONES * 0x20u) & ~w);
    return t & SWAR_HIGH;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SCV_SWAR_FIRST(m) (__builtin_ctzll(m) >> 3) /* index of first flag */
#endif

/* SSE2 is part of the x86-64 baseline: 16 bytes per step (the SWAR loop
   below does 8, and stays the portable path and the tail). */
#if defined(__SSE2__) && defined(SCV_SWAR_FIRST)
#include <emmintrin.h>
#define SCV_SSE2 1

/* Bit i set when byte i of the 16 at p is '"', '\\' or < 0x20. */
SCV_INLINE unsigned sse2_special(const unsigned char *p)
{
    const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    const __m128i q = _mm_cmpeq_epi8(x, _mm_set1_epi8(0x22));
    const __m128i b = _mm_cmpeq_epi8(x, _mm_set1_epi8(0x5c));
    /* unsigned x <= 0x1f  <=>  max(x, 0x1f) == 0x1f */
    const __m128i c = _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x1f)),
                                     _mm_set1_epi8(0x1f));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(q, b), c));
}
#endif

/* First byte in [p, end) that is special, or end. */
SCV_INLINE const unsigned char *scan_plain(const unsigned char *p,
                                           const unsigned char *end)
{
#ifdef SCV_SSE2
    while (end - p >= 16) {
        unsigned m = sse2_special(p);
        if (m != 0)
            return p + __builtin_ctz(m);
        p += 16;
    }
#endif
    while (end - p >= 8) {
        uint64_t w, m;
        memcpy(&w, p, 8);
        if ((m = swar_special(w)) != 0) {
#ifdef SCV_SWAR_FIRST
            return p + SCV_SWAR_FIRST(m);
#else
            break;
#endif
        }
        p += 8;
    }
    while (p < end && !str_special[*p])
        p++;
    return p;
}

/* Replace the block anchored at stack `slot` by a new userdata of
   `newcap` bytes holding the first `used` bytes of `old`.  Needs one free
   stack slot.  May raise a memory error (nothing leaks: GC-owned). */
static void *grow_block(lua_State *L, int slot, const void *old, size_t used,
                        size_t newcap)
{
    void *p = scv_newud(L, newcap);
    if (used)
        memcpy(p, old, used);
    lua_replace(L, slot);
    return p;
}

static size_t grow_cap(size_t cap, size_t need)
{
    size_t n = cap ? cap : 64;
    while (n < need) {
        if (n > ((size_t)-1) / 2)
            return need;
        n *= 2;
    }
    return n;
}

static char locale_decimal_point(void)
{
    const struct lconv *lc = localeconv();
    if (lc && lc->decimal_point && lc->decimal_point[0])
        return lc->decimal_point[0];
    return '.';
}

/* ------------------------------------------------------------------ */
/* Object key cache                                                    */
/* ------------------------------------------------------------------ */

/* The API sends the same object keys in every response ("creditCharged",
   "email" on each of a thousand leads).  lua_pushlstring interns every key
   again: it hashes all its bytes, walks the string table and, when the
   previous response's strings were collected, allocates it anew.  Decoding
   keeps the last key seen per slot of a small direct-mapped cache, keyed by
   a hash of the first and last 8 bytes; a hit (same length and the same
   two words, and for keys past KEY_WORDS_EXACT bytes the same bytes) is
   pushed from the anchor table.  The cache
   lives in the registry (one per Lua state, nothing global) and its strings
   are anchored there, so they stay interned. */
#define KEY_CACHE_SLOTS 512 /* power of two */
#define KEY_CACHE_MAX_LEN 40 /* Lua's short strings */
#define KEY_CACHE_REG "scravio.json.keys"

/* A key of at most KEY_WORDS_EXACT bytes is determined by its length and
   the two words key_words reads (they cover all of it), so a slot whose
   words and length match holds that key: no byte comparison (nor a
   lua_tolstring) is needed. Longer keys are compared byte for byte. */
#define KEY_WORDS_EXACT 16

typedef struct {
    uint64_t a[KEY_CACHE_SLOTS], b[KEY_CACHE_SLOTS];
    uint32_t len[KEY_CACHE_SLOTS]; /* 0: empty (keys in the cache are not empty) */
} key_cache;
/* A key is looked for in its home slot i, then in i ^ 1: two keys of one
   response that hash to the same slot no longer evict each other on every
   decode once the pair has room. */

static void key_cache_init(lua_State *L)
{
    key_cache *kc;
    lua_getfield(L, LUA_REGISTRYINDEX, KEY_CACHE_REG);
    if (!lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    kc = (key_cache *)scv_newud(L, sizeof *kc);
    memset(kc, 0, sizeof *kc);
    lua_setfield(L, LUA_REGISTRYINDEX, KEY_CACHE_REG);
    lua_createtable(L, KEY_CACHE_SLOTS, 0); /* slot i's string at [i + 1] */
    lua_setfield(L, LUA_REGISTRYINDEX, KEY_CACHE_REG ".strings");
}

/* The first and last 8 bytes of a key (a shorter key packed into a). */
SCV_INLINE void key_words(const unsigned char *s, size_t n, uint64_t *a,
                          uint64_t *b)
{
    *a = *b = 0;
    if (n >= 8) {
        memcpy(a, s, 8);
        memcpy(b, s + n - 8, 8);
    } else {
        size_t i;
        for (i = 0; i < n; i++)
            *a = (*a << 8) | s[i];
    }
}

SCV_INLINE uint64_t key_hash(uint64_t a, uint64_t b, size_t n)
{
    uint64_t h = (a * 0x9E3779B97F4A7C15ULL) ^ (b * 0xC2B2AE3D27D4EB4FULL) ^ (uint64_t)n;
    return h ^ (h >> 29);
}

/* Push the array metatable (creating it if scv_json_init was not called). */
static void push_array_mt(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, SCV_ARRAY_MT);
    if (SCV_UNLIKELY(!lua_istable(L, -1))) {
        lua_pop(L, 1);
        scv_json_init(L);
        lua_getfield(L, LUA_REGISTRYINDEX, SCV_ARRAY_MT);
    }
}

/* JSON null: one full userdata per Lua state (registry SCV_NULL_MT holds its
   metatable, SCV_NULL_REG the value).  Not the lightuserdata NULL that
   cjson and ngx use: every lightuserdata shares one metatable, so giving
   that one a __tostring would change how ngx.null prints too. */
static int null_tostring(lua_State *L)
{
    lua_pushliteral(L, "scravio.null");
    return 1;
}

static void null_init(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, SCV_NULL_REG);
    if (!lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    scv_newud(L, 1);
    luaL_newmetatable(L, SCV_NULL_MT);
    lua_pushcfunction(L, null_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushstring(L, SCV_NULL_MT);
    lua_setfield(L, -2, "__name");
    lua_pushliteral(L, "scravio.null");
    lua_setfield(L, -2, "__metatable"); /* nobody swaps it out from Lua */
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, SCV_NULL_REG);
}

void scv_json_push_null(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, SCV_NULL_REG);
    if (SCV_UNLIKELY(lua_isnil(L, -1))) {
        lua_pop(L, 1);
        null_init(L);
        lua_getfield(L, LUA_REGISTRYINDEX, SCV_NULL_REG);
    }
}

int scv_json_isnull(lua_State *L, int idx)
{
    int t = lua_type(L, idx), is;
    if (t == LUA_TLIGHTUSERDATA)
        return lua_touserdata(L, idx) == NULL;
    if (t != LUA_TUSERDATA || !lua_getmetatable(L, idx))
        return 0;
    luaL_getmetatable(L, SCV_NULL_MT);
    is = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return is;
}

void scv_json_init(lua_State *L)
{
    null_init(L);
    lua_getfield(L, LUA_REGISTRYINDEX, SCV_ARRAY_MT);
    if (lua_istable(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    luaL_newmetatable(L, SCV_ARRAY_MT); /* 5.1 does not set __name */
    lua_pushstring(L, SCV_ARRAY_MT);
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);
    key_cache_init(L);
}

/* ------------------------------------------------------------------ */
/* Decoder                                                             */
/* ------------------------------------------------------------------ */

/* Items a container may keep pending on the Lua stack before its table is
   created.  Slots reserved per open container must cover them. */
#define DEC_PEND_ARR 64
#define DEC_PEND_OBJ 32
#define DEC_RESERVE (2 * DEC_PEND_OBJ + 16)
#define DEC_DIRECT_RESERVE 8
#define DEC_LOCAL_FRAMES 32
#define DEC_LOCAL_BUF 256
/* Once the decoder uses this many stack slots, a container that opens a
   nested container first moves its pending items into its table, so deep
   documents cost at most two slots per level (LuaJIT lets a C function
   use only LUAI_MAXCSTACK = 8000 slots). */
#define DEC_PEND_BUDGET 1024

typedef struct {
    int base;    /* stack top when the container was opened */
    int tbl;     /* nonzero: the table exists at base + 1 */
    int obj;     /* object (1) or array (0) */
    long long n; /* array items already stored in the table */
    int pend;    /* pending mode: items (arrays) or members (objects) so far */
    uint64_t fp_sum;  /* the structural hash so far (fingerprint.h) */
    uint64_t fp_key;  /* objects: the hash of the key being read */
    long long fp_n;   /* arrays: items seen */
} dframe;

typedef struct {
    lua_State *L;
    const unsigned char *start, *end;
    char *buf; /* string / number scratch */
    size_t cap;
    int buf_slot;
    dframe *fr;
    int frcap;
    int fr_slot;
    int mt_slot, has_mt;
    key_cache *kc;  /* NULL: no cache (scv_json_init was not called) */
    int kc_slot;    /* stack slot of the cache's string table */
    int stack_base; /* stack top before the decoded value */
    uint64_t fp;    /* the hash of the value just decoded (fingerprint.h) */
    int fp_skip;    /* that value was a null member: no entry */
    int fp_on;      /* hash at all (not for a LazyDoc's members: no page there) */
    int fp_ok;      /* no container nested past what the pager's walk hashes */
    int fpw_slot, has_fpw; /* the registry's {array -> hash} table, once fetched */
    int max_depth;
    char *err;
    size_t errlen;
    dframe fr_local[DEC_LOCAL_FRAMES];
    char buf_local[DEC_LOCAL_BUF];
} dec_t;

static const unsigned char ws_tab[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, /* \t \n \r */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, /* ' ' */
};

#define SKIP_WS(p, end)                        \
    while ((p) < (end) && ws_tab[*(p)])        \
    (p)++

static int dec_fail(dec_t *d, const unsigned char *at, const char *msg)
{
    scv_set_err(d->err, d->errlen, "%s at offset %lu", msg,
                (unsigned long)(at - d->start));
    return 0;
}

static int dec_unexpected(dec_t *d, const unsigned char *at,
                          const char *expected)
{
    if (at >= d->end) {
        scv_set_err(d->err, d->errlen,
                    "unexpected end of input, expected %s at offset %lu",
                    expected, (unsigned long)(at - d->start));
    } else if (*at >= 0x21 && *at < 0x7f) {
        scv_set_err(d->err, d->errlen,
                    "unexpected character '%c', expected %s at offset %lu",
                    *at, expected, (unsigned long)(at - d->start));
    } else {
        scv_set_err(d->err, d->errlen,
                    "unexpected byte 0x%02x, expected %s at offset %lu",
                    (unsigned)*at, expected, (unsigned long)(at - d->start));
    }
    return 0;
}

static void dec_buf_reserve(dec_t *d, size_t used, size_t need)
{
    size_t ncap = grow_cap(d->cap, need);
    d->buf = (char *)grow_block(d->L, d->buf_slot, d->buf, used, ncap);
    d->cap = ncap;
}

static int hexval(unsigned c)
{
    if (c - '0' < 10u)
        return (int)(c - '0');
    c |= 0x20;
    if (c - 'a' < 6u)
        return (int)(c - 'a' + 10);
    return -1;
}

static long hex4(const unsigned char *p)
{
    int a = hexval(p[0]), b = hexval(p[1]), c = hexval(p[2]),
        e = hexval(p[3]);
    if ((a | b | c | e) < 0)
        return -1;
    return ((long)a << 12) | (b << 8) | (c << 4) | e;
}

static size_t utf8_put(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* *pp points just past the opening quote.  Pushes the string. */
static int dec_string(dec_t *d, const unsigned char **pp)
{
    const unsigned char *p = *pp, *end = d->end, *s = p;
    const unsigned char *open = p - 1;
    size_t len = 0;

    p = scan_plain(p, end);
    if (SCV_LIKELY(p < end && *p == '"')) {
        lua_pushlstring(d->L, (const char *)s, (size_t)(p - s));
        if (SCV_UNLIKELY(d->fp_on))
            d->fp = scv_fp_bytes(s, (size_t)(p - s));
        *pp = p + 1;
        return 1;
    }
    /* Slow path: escapes, or an error. */
    for (;;) {
        size_t run = (size_t)(p - s);
        if (run) {
            if (d->cap - len < run)
                dec_buf_reserve(d, len, len + run);
            memcpy(d->buf + len, s, run);
            len += run;
        }
        if (p >= end)
            return dec_fail(d, open, "unterminated string starting");
        if (*p == '"')
            break;
        if (*p < 0x20)
            return dec_fail(d, p, "control character in string");
        /* backslash */
        if (end - p < 2)
            return dec_fail(d, open, "unterminated string starting");
        if (d->cap - len < 4)
            dec_buf_reserve(d, len, len + 4);
        switch (p[1]) {
        case '"': d->buf[len++] = '"'; p += 2; break;
        case '\\': d->buf[len++] = '\\'; p += 2; break;
        case '/': d->buf[len++] = '/'; p += 2; break;
        case 'b': d->buf[len++] = '\b'; p += 2; break;
        case 'f': d->buf[len++] = '\f'; p += 2; break;
        case 'n': d->buf[len++] = '\n'; p += 2; break;
        case 'r': d->buf[len++] = '\r'; p += 2; break;
        case 't': d->buf[len++] = '\t'; p += 2; break;
        case 'u': {
            long cp;
            if (end - p < 6 || (cp = hex4(p + 2)) < 0)
                return dec_fail(d, p, "invalid \\u escape");
            p += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                long lo;
                if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
                    (lo = hex4(p + 2)) >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                } else {
                    cp = 0xFFFD; /* lone high surrogate */
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD; /* lone low surrogate */
            }
            len += utf8_put(d->buf + len, (unsigned long)cp);
            break;
        }
        default:
            return dec_fail(d, p, "invalid escape in string");
        }
        s = p;
        p = scan_plain(p, end);
    }
    lua_pushlstring(d->L, d->buf, len);
    if (SCV_UNLIKELY(d->fp_on))
        d->fp = scv_fp_bytes((const unsigned char *)d->buf, len);
    *pp = p + 1;
    return 1;
}

/* *pp points just past the opening quote of an object key.  Pushes the
   key, from the key cache when it is there. */
static int dec_key(dec_t *d, const unsigned char **pp)
{
    const unsigned char *s = *pp, *p;
    size_t n, got;
    uint64_t h, a, b;
    unsigned i;
    int hit;
    const char *str;
    key_cache *kc = d->kc;

    if (kc == NULL)
        return dec_string(d, pp);
    p = scan_plain(s, d->end);
    n = (size_t)(p - s);
    if (p >= d->end || *p != '"' || n > KEY_CACHE_MAX_LEN || n == 0)
        return dec_string(d, pp); /* escapes, an error, a long or empty key */
    key_words(s, n, &a, &b);
    h = key_hash(a, b, n);
    if (SCV_UNLIKELY(d->fp_on))
        d->fp = scv_fp_bytes(s, n);
    i = (unsigned)(h & (KEY_CACHE_SLOTS - 1));
#define KEY_AT(x) (kc->len[x] == n && kc->a[x] == a && kc->b[x] == b)
    hit = KEY_AT(i);
    if (!hit) {
        unsigned j = i ^ 1u;
        if ((hit = KEY_AT(j)) != 0)
            i = j;
        else if (kc->len[i] != 0 && kc->len[j] == 0)
            i = j; /* a miss: fill an empty way first, else replace home */
    }
#undef KEY_AT
    if (hit) {
        lua_rawgeti(d->L, d->kc_slot, (scv_idx_t)i + 1);
        if (n <= KEY_WORDS_EXACT) { /* the words are the whole key */
            *pp = p + 1;
            return 1;
        }
        str = lua_tolstring(d->L, -1, &got);
        if (str != NULL && got == n && memcmp(str, s, n) == 0) {
            *pp = p + 1;
            return 1;
        }
        lua_pop(d->L, 1);
    }
    lua_pushlstring(d->L, (const char *)s, n);
    lua_pushvalue(d->L, -1);
    kc->len[i] = 0; /* empty until the slot's string is in place */
    lua_rawseti(d->L, d->kc_slot, (scv_idx_t)i + 1);
    kc->a[i] = a;
    kc->b[i] = b;
    kc->len[i] = (uint32_t)n;
    *pp = p + 1;
    return 1;
}

static const double pow10_tab[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

#define IS_DIGIT(c) ((unsigned)(c) - '0' < 10u)

/* The grammar of a JSON number, shared by the decoder and the scanner.
   The first 19 significant digits accumulate in m (exact); `many` says
   more followed, e10 is the decimal exponent to apply to m. */
typedef struct {
    int neg, isfloat, many;
    int bigexp; /* the exponent had more digits than e10 keeps: only strtod
                   (which reads the whole literal) can tell the value */
    uint64_t m;
    int e10;
} numtok;

/* *pp points at '-' or a digit.  On success advances *pp past the number
   and returns NULL; otherwise returns the error message (*pp unchanged). */
static const char *lex_number(const unsigned char **pp,
                              const unsigned char *end, numtok *t)
{
    const unsigned char *p = *pp;
    int nd = 0;

    t->neg = t->isfloat = t->many = t->bigexp = 0;
    t->m = 0;
    t->e10 = 0;
    if (*p == '-') {
        t->neg = 1;
        p++;
    }
    if (p < end && *p == '0') {
        p++;
        if (p < end && IS_DIGIT(*p))
            return "leading zero in number";
    } else if (p < end && IS_DIGIT(*p)) {
        do {
            if (nd < 19) {
                t->m = t->m * 10 + (unsigned)(*p - '0');
                nd++;
            } else {
                t->many = 1;
                t->e10++;
            }
            p++;
        } while (p < end && IS_DIGIT(*p));
    } else {
        return "invalid number";
    }
    if (p < end && *p == '.') {
        t->isfloat = 1;
        p++;
        if (p >= end || !IS_DIGIT(*p))
            return "invalid number (digit expected after '.')";
        do {
            unsigned dg = (unsigned)(*p - '0');
            if (nd < 19) {
                if (t->m || dg) {
                    t->m = t->m * 10 + dg;
                    nd++;
                }
                t->e10--;
            } else {
                t->many = 1;
            }
            p++;
        } while (p < end && IS_DIGIT(*p));
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0, ev = 0;
        t->isfloat = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = (*p == '-');
            p++;
        }
        if (p >= end || !IS_DIGIT(*p))
            return "invalid number (digit expected in exponent)";
        do {
            if (ev < 100000)
                ev = ev * 10 + (*p - '0');
            else
                t->bigexp = 1;
            p++;
        } while (p < end && IS_DIGIT(*p));
        t->e10 += eneg ? -ev : ev;
    }
    *pp = p;
    return NULL;
}

/* Does the number need strtod (no exact fast path applies)? */
static int num_needs_strtod(const numtok *t)
{
    /* A saturated exponent must never reach the fast path: with as many
       fraction digits as the kept exponent it would look like 1e0. */
    if (t->bigexp)
        return t->many || t->m != 0;
    if (!t->isfloat && !t->many)
        return 0; /* an exact integer (or its correctly rounded double) */
    if (!t->many && t->m == 0)
        return 0; /* zero */
#if SCV_FAST_FLOAT
    if (!t->many && t->m <= ((uint64_t)1 << 53) && t->e10 >= -22 &&
        t->e10 <= 22)
        return 0;
#endif
    return 1;
}

/* strtod of the n bytes at s (grammar already validated) in the current
   locale, on the NUL-terminated copy at c (room for n + 1 bytes). */
static double num_strtod(const unsigned char *s, size_t n, char *c)
{
    char dp = locale_decimal_point();
    size_t i;
    memcpy(c, s, n);
    c[n] = '\0';
    if (dp != '.') {
        for (i = 0; i < n; i++)
            if (c[i] == '.')
                c[i] = dp;
    }
    return strtod(c, NULL);
}

/* *pp points at '-' or a digit.  Pushes the number. */
static int dec_number(dec_t *d, const unsigned char **pp)
{
    const unsigned char *s = *pp;
    const char *bad;
    numtok t;
    double v;

    {
        /* Fast path: an integer of at most 18 digits (no overflow, exact),
           not "-0" (a float), the byte after it not continuing a number.
           Anything else (errors included) goes through the full grammar. */
        const unsigned char *q = s, *end = d->end, *d0;
        uint64_t m = 0;
        int neg = *q == '-';
        q += neg;
        d0 = q;
        if (q < end && *q == '0')
            q++;
        else
            while (q < end && IS_DIGIT(*q) && q - d0 < 19)
                m = m * 10 + (unsigned)(*q++ - '0');
        if (q > d0 && q - d0 <= 18 && !(neg && m == 0) &&
            (q >= end || (!IS_DIGIT(*q) && *q != '.' && (*q | 0x20) != 'e'))) {
#if SCV_HAS_INT
            lua_pushinteger(d->L, neg ? -(lua_Integer)m : (lua_Integer)m);
#else
            v = (double)m;
            lua_pushnumber(d->L, (lua_Number)(neg ? -v : v));
#endif
            *pp = q;
            return 1;
        }
    }
    if ((bad = lex_number(pp, d->end, &t)) != NULL)
        return dec_fail(d, s, bad);

    if (!t.isfloat && !t.many) {
        /* JSON integer with at most 19 digits: m is exact. */
#if SCV_HAS_INT
        if (!t.neg) {
            if (t.m <= (uint64_t)LUA_MAXINTEGER) {
                lua_pushinteger(d->L, (lua_Integer)t.m);
                return 1;
            }
        } else if (t.m != 0) {
            if (t.m <= (uint64_t)LUA_MAXINTEGER) {
                lua_pushinteger(d->L, -(lua_Integer)t.m);
                return 1;
            }
            if (t.m == (uint64_t)LUA_MAXINTEGER + 1u) {
                lua_pushinteger(d->L, LUA_MININTEGER);
                return 1;
            }
        }
#endif
        /* Out of range (or "-0", or Lua 5.1): the conversion of an exact
           integer to double is correctly rounded. */
        v = (double)t.m;
        lua_pushnumber(d->L, (lua_Number)(t.neg ? -v : v));
        return 1;
    }
    if (!t.many && t.m == 0) {
        lua_pushnumber(d->L, (lua_Number)(t.neg ? -0.0 : 0.0));
        return 1;
    }
    if (!num_needs_strtod(&t)) {
        /* Clinger's fast path: m and 10^|e10| are exact doubles, so a
           single multiplication or division is correctly rounded. */
        v = (double)t.m;
        if (t.e10 < 0)
            v /= pow10_tab[-t.e10];
        else
            v *= pow10_tab[t.e10];
        lua_pushnumber(d->L, (lua_Number)(t.neg ? -v : v));
        return 1;
    }
    {
        /* Slow path: strtod on a NUL-terminated copy. */
        char tmp[64];
        char *c = tmp;
        size_t n = (size_t)(*pp - s);
        if (n >= sizeof(tmp)) {
            if (d->cap < n + 1)
                dec_buf_reserve(d, 0, n + 1);
            c = d->buf;
        }
        v = num_strtod(s, n, c);
        if (isinf(v) || isnan(v))
            return dec_fail(d, s, "number out of range");
        lua_pushnumber(d->L, (lua_Number)v);
        return 1;
    }
}

/* Push a new frame; returns it or NULL (error set). */
static dframe *dec_push_frame(dec_t *d, int depth, const unsigned char *at)
{
    if (depth >= d->max_depth) {
        dec_fail(d, at, "nesting deeper than max_depth");
        return NULL;
    }
    if (depth > SCV_FP_DEPTH + 1) /* the pager's walk would cut this off */
        d->fp_ok = 0;
    if (depth >= d->frcap) {
        size_t ncap = (size_t)d->frcap * 2;
        if (ncap > (size_t)d->max_depth)
            ncap = (size_t)d->max_depth;
        d->fr = (dframe *)grow_block(d->L, d->fr_slot, d->fr,
                                     (size_t)depth * sizeof(dframe),
                                     ncap * sizeof(dframe));
        d->frcap = (int)ncap;
    }
    return &d->fr[depth];
}

/* Build the table from the items pending above f->base and leave it at
   f->base + 1.  `keep` top slots (0, or 1 for an object key already
   pushed) are not items and stay above the table.  `extra` scales the
   presize for containers that are still open. */
static void dec_materialize(dec_t *d, dframe *f, int keep, int extra)
{
    lua_State *L = d->L;
    int base = f->base, top = lua_gettop(L), i, cnt = top - base - keep;
    f->tbl = 1;
    if (cnt == 0) { /* no items: the table lands at base + 1 */
        lua_createtable(L, 0, 0);
        if (keep)
            lua_insert(L, base + 1);
        return;
    }
    if (!f->obj) {
        lua_createtable(L, cnt * extra, 0);
        for (i = 1; i <= cnt; i++) {
            lua_pushvalue(L, base + i);
            lua_rawseti(L, -2, (scv_idx_t)i);
        }
        f->n = cnt;
    } else {
        lua_createtable(L, 0, (cnt / 2) * extra);
        for (i = 1; i < cnt; i += 2) {
            lua_pushvalue(L, base + i);
            lua_pushvalue(L, base + i + 1);
            lua_rawset(L, -3);
        }
    }
    lua_replace(L, base + 1);
    if (keep) { /* cnt >= 2 here: move the key down to base + 2 */
        lua_replace(L, base + 2);
    }
    lua_settop(L, base + 1 + keep);
}

/* Open a container frame: decide pending (items on the stack) or direct
   (table created now) mode based on the Lua stack space available. */
static int dec_open(dec_t *d, dframe *f, int obj, const unsigned char *at)
{
    lua_State *L = d->L;
    if (SCV_UNLIKELY(lua_gettop(L) - d->stack_base > DEC_PEND_BUDGET) &&
        f != d->fr && !f[-1].tbl &&
        lua_gettop(L) - f[-1].base > f[-1].obj) /* has pending items */
        dec_materialize(d, &f[-1], f[-1].obj, 2);
    f->base = lua_gettop(L);
    f->obj = obj;
    f->n = 0;
    f->pend = 0;
    f->fp_sum = SCV_FP_TABLE;
    f->fp_n = 0;
    if (SCV_LIKELY(lua_checkstack(L, DEC_RESERVE))) {
        f->tbl = 0;
        return 1;
    }
    if (!lua_checkstack(L, DEC_DIRECT_RESERVE))
        return dec_fail(d, at, "nesting too deep for the Lua stack");
    lua_createtable(L, 0, 0);
    f->tbl = 1;
    return 1;
}

/* registry[SCV_FP_REG][the array on top] = its hash (8 bytes). The table
   has weak keys: an entry goes with its array. */
static void fp_record(dec_t *d)
{
    lua_State *L = d->L;
    if (!lua_checkstack(L, 4))
        return;
    if (!d->has_fpw) {
        lua_getfield(L, LUA_REGISTRYINDEX, SCV_FP_REG);
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            lua_createtable(L, 0, 4);
            lua_createtable(L, 0, 1);
            lua_pushliteral(L, "k");
            lua_setfield(L, -2, "__mode");
            lua_setmetatable(L, -2);
            lua_pushvalue(L, -1);
            lua_setfield(L, LUA_REGISTRYINDEX, SCV_FP_REG);
        }
        lua_replace(L, d->fpw_slot);
        d->has_fpw = 1;
    }
    lua_pushvalue(L, -1);
    lua_pushlstring(L, (const char *)&d->fp, sizeof d->fp);
    lua_rawset(L, d->fpw_slot);
}

static int dec_run(dec_t *d)
{
    lua_State *L = d->L;
    const unsigned char *p = d->start, *end = d->end;
    int depth = 0;
    dframe *f;

    if (end - p >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        p += 3;

value:
    SKIP_WS(p, end);
    if (SCV_UNLIKELY(p >= end))
        return dec_unexpected(d, p, "a value");
    switch (*p) {
    case '"':
        p++;
        if (!dec_string(d, &p))
            return 0;
        goto value_done;
    case '{':
        if ((f = dec_push_frame(d, depth, p)) == NULL ||
            !dec_open(d, f, 1, p))
            return 0;
        depth++;
        p++;
        SKIP_WS(p, end);
        if (p < end && *p == '}') {
            p++;
            goto close_obj;
        }
        goto obj_key;
    case '[':
        if ((f = dec_push_frame(d, depth, p)) == NULL ||
            !dec_open(d, f, 0, p))
            return 0;
        depth++;
        p++;
        SKIP_WS(p, end);
        if (p < end && *p == ']') {
            p++;
            goto close_arr;
        }
        goto value;
    case 't':
        if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
            lua_pushboolean(L, 1);
            d->fp = SCV_FP_TRUE;
            p += 4;
            goto value_done;
        }
        return dec_unexpected(d, p, "a value");
    case 'f':
        if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
            lua_pushboolean(L, 0);
            d->fp = SCV_FP_FALSE;
            p += 5;
            goto value_done;
        }
        return dec_unexpected(d, p, "a value");
    case 'n':
        if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
            /* A member that is null is absent (nil: the last duplicate
               still wins, rawset removes); in an array, or alone, it is
               the null value, so positions hold. */
            if (depth > 0 && d->fr[depth - 1].obj) {
                lua_pushnil(L);
                d->fp_skip = 1; /* an absent member: no entry */
            } else {
                scv_json_push_null(L);
                d->fp = SCV_FP_NULL;
            }
            p += 4;
            goto value_done;
        }
        return dec_unexpected(d, p, "a value");
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        if (!dec_number(d, &p))
            return 0;
        if (SCV_UNLIKELY(d->fp_on))
            d->fp = scv_fp_number((double)lua_tonumber(L, -1));
        goto value_done;
    default:
        return dec_unexpected(d, p, "a value");
    }

obj_key:
    /* p is at the (expected) opening quote of a key; whitespace skipped */
    if (SCV_UNLIKELY(p >= end || *p != '"'))
        return dec_unexpected(d, p, "a string key");
    p++;
    if (!dec_key(d, &p))
        return 0;
    d->fr[depth - 1].fp_key = d->fp;
    SKIP_WS(p, end);
    if (SCV_UNLIKELY(p >= end || *p != ':'))
        return dec_unexpected(d, p, "':'");
    p++;
    goto value;

value_done:
    if (depth == 0)
        goto finish;
    f = &d->fr[depth - 1];
    if (!d->fp_on)
        ;
    else if (!f->obj)
        f->fp_sum += scv_fp_entry(scv_fp_number((double)++f->fp_n), d->fp);
    else if (d->fp_skip)
        d->fp_skip = 0;
    else
        f->fp_sum += scv_fp_entry(f->fp_key, d->fp);
    if (!f->obj) {
        if (f->tbl)
            lua_rawseti(L, f->base + 1, (scv_idx_t)++f->n);
        else if (++f->pend > DEC_PEND_ARR) /* (no lua_gettop per value) */
            dec_materialize(d, f, 0, 2);
        SKIP_WS(p, end);
        if (SCV_LIKELY(p < end)) {
            if (*p == ',') {
                p++;
                goto value;
            }
            if (*p == ']') {
                p++;
                goto close_arr;
            }
        }
        return dec_unexpected(d, p, "',' or ']'");
    } else {
        if (f->tbl)
            lua_rawset(L, f->base + 1);
        else if (++f->pend > DEC_PEND_OBJ)
            dec_materialize(d, f, 0, 2);
        SKIP_WS(p, end);
        if (SCV_LIKELY(p < end)) {
            if (*p == ',') {
                p++;
                SKIP_WS(p, end);
                goto obj_key;
            }
            if (*p == '}') {
                p++;
                goto close_obj;
            }
        }
        return dec_unexpected(d, p, "',' or '}'");
    }

close_arr:
    f = &d->fr[depth - 1];
    if (!f->tbl)
        dec_materialize(d, f, 0, 1);
    if (SCV_UNLIKELY(!d->has_mt)) { /* fetched on first need */
        push_array_mt(L);
        lua_replace(L, d->mt_slot);
        d->has_mt = 1;
    }
    lua_pushvalue(L, d->mt_slot);
    lua_setmetatable(L, -2);
    if (SCV_UNLIKELY(d->fp_on))
        d->fp = scv_fp_mix(f->fp_sum);
    /* A non-empty array near the top (a list envelope's items) keeps its
       hash for the pager: it need not walk the page again. */
    if (depth - 1 >= 1 && depth - 1 <= 2 && f->fp_n > 0 && d->fp_ok && d->fp_on)
        fp_record(d);
    depth--;
    goto value_done;

close_obj:
    f = &d->fr[depth - 1];
    if (!f->tbl)
        dec_materialize(d, f, 0, 1);
    if (SCV_UNLIKELY(d->fp_on))
        d->fp = scv_fp_mix(f->fp_sum);
    depth--;
    goto value_done;

finish:
    SKIP_WS(p, end);
    if (p != end)
        return dec_unexpected(d, p, "end of input");
    return 1;
}

int scv_json_decode(lua_State *L, const char *s, size_t len, int max_depth,
                    char *err, size_t errlen)
{
    return scv_json_decode_fp(L, s, len, max_depth, err, errlen, 1);
}

int scv_json_decode_fp(lua_State *L, const char *s, size_t len, int max_depth,
                       char *err, size_t errlen, int fingerprints)
{
    dec_t d;
    int base = lua_gettop(L);

    if (err && errlen)
        err[0] = '\0';
    if (!lua_checkstack(L, DEC_RESERVE + 8)) {
        scv_set_err(err, errlen, "Lua stack exhausted");
        return 0;
    }
    if (s == NULL)
        s = "";
    d.L = L;
    d.start = (const unsigned char *)s;
    d.end = d.start + len;
    d.buf = d.buf_local;
    d.cap = sizeof(d.buf_local);
    d.fr = d.fr_local;
    d.frcap = DEC_LOCAL_FRAMES;
    d.max_depth = max_depth > 0 ? max_depth : SCV_JSON_DEFAULT_MAX_DEPTH;
    d.err = err;
    d.errlen = errlen;
    lua_pushnil(L);
    d.buf_slot = base + 1;
    lua_pushnil(L);
    d.fr_slot = base + 2;
    lua_pushnil(L);
    d.mt_slot = base + 3;
    d.has_mt = 0;
    lua_getfield(L, LUA_REGISTRYINDEX, KEY_CACHE_REG ".strings");
    d.kc_slot = base + 4;
    d.kc = NULL;
    if (lua_istable(L, -1)) {
        lua_getfield(L, LUA_REGISTRYINDEX, KEY_CACHE_REG);
        d.kc = (key_cache *)lua_touserdata(L, -1); /* anchored by the registry */
        lua_pop(L, 1);
    }
    lua_pushnil(L);
    d.fpw_slot = base + 5;
    d.has_fpw = 0;
    d.fp = 0;
    d.fp_skip = 0;
    d.fp_ok = 1;
    d.fp_on = fingerprints;
    d.stack_base = base + 5;

    if (!dec_run(&d)) {
        lua_settop(L, base);
        return 0;
    }
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Scanner: the decoder's grammar without building values              */
/* ------------------------------------------------------------------ */

/* p points just past an opening quote.  Returns the byte after the closing
   quote, or NULL where dec_string would fail.  *escaped is set when the
   string has a backslash escape. */
SCV_INLINE const unsigned char *skip_string(const unsigned char *p,
                                        const unsigned char *end,
                                        int *escaped)
{
    for (;;) {
        p = scan_plain(p, end);
        if (p >= end || *p < 0x20)
            return NULL;
        if (*p == '"')
            return p + 1;
        if (end - p < 2) /* backslash */
            return NULL;
        switch (p[1]) {
        case '"': case '\\': case '/': case 'b':
        case 'f': case 'n': case 'r': case 't':
            p += 2;
            break;
        case 'u':
            /* Each \u is checked on its own: a high surrogate not followed
               by a low one decodes to U+FFFD, never fails. */
            if (end - p < 6 || hex4(p + 2) < 0)
                return NULL;
            p += 6;
            break;
        default:
            return NULL;
        }
        *escaped = 1;
    }
}

static const unsigned char *skip_number_slow(const unsigned char *p,
                                             const unsigned char *end);

/* Number grammar and range, as dec_number.  Returns the byte after the
   number, or NULL (invalid, out of range, or too long to check here).
   Inlined into both scanners (scv_json_members, scv_json_index_page): the
   integer fast path; the rest of the grammar is out of line. */
SCV_INLINE const unsigned char *skip_number(const unsigned char *p,
                                            const unsigned char *end)
{
    const unsigned char *q = p, *d0;

    /* Fast path: an integer of at most 19 digits (always finite). */
    if (*q == '-')
        q++;
    d0 = q;
    if (q < end && *q == '0')
        q++;
    else
        while (q < end && IS_DIGIT(*q))
            q++;
    if (q > d0 && q - d0 <= 19 &&
        (q >= end || (!IS_DIGIT(*q) && *q != '.' && *q != 'e' && *q != 'E')))
        return q;
    return skip_number_slow(p, end);
}

static const unsigned char *skip_number_slow(const unsigned char *p,
                                             const unsigned char *end)
{
    const unsigned char *s = p;
    numtok t;

    if (lex_number(&p, end, &t) != NULL)
        return NULL;
    if (num_needs_strtod(&t)) {
        char tmp[64];
        double v;
        if ((size_t)(p - s) >= sizeof tmp)
            return NULL; /* the decoder will tell */
        v = num_strtod(s, (size_t)(p - s), tmp);
        if (isinf(v) || isnan(v))
            return NULL;
    }
    return p;
}

/* The one scanner behind scv_json_members (a GET's LazyDoc: members only,
   elems == NULL) and scv_json_index_page (a list page: also the spans of
   the elements of every array that is a top-level member's value, so that a
   page is validated whole in one pass and its items decoded one at a time
   later, csrc/lazypage.c). Always inlined into both with constant NULLs for
   the first, so a GET pays nothing for the element bookkeeping. */
SCV_INLINE int scan_top_object(const char *str, size_t len, int max_depth,
                               scv_json_member *out, uint32_t *first, int cap,
                               scv_json_span **elems, size_t *elem_cap)
{
    const unsigned char *start = (const unsigned char *)str;
    const unsigned char *p = start, *end = start + len, *vstart = NULL;
    const unsigned char *estart = NULL;
    unsigned char is_obj[SCV_JSON_SCAN_MAX_DEPTH];
    int depth = 0, n = 0, escaped = 0;
    size_t ne = 0;

    if (str == NULL || len > 0xFFFFFFFFu)
        return -1;
    if (max_depth <= 0)
        max_depth = SCV_JSON_DEFAULT_MAX_DEPTH;
    if (end - p >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        p += 3;
    SKIP_WS(p, end);
    if (p >= end || *p != '{')
        return -1;

value:
    /* (compact JSON has no whitespace: test the byte before looping) */
    if (SCV_UNLIKELY(p < end && ws_tab[*p]))
        SKIP_WS(p, end);
    if (p >= end)
        return -1;
    if (SCV_UNLIKELY(depth <= 2)) {
        if (depth == 1)
            vstart = p;
        else if (elems && !is_obj[1])
            estart = p; /* an element of a top-level member's array */
    }
    switch (*p) {
    case '"':
        if ((p = skip_string(p + 1, end, &escaped)) == NULL)
            return -1;
        goto value_done;
    case '{':
    case '[':
        if (depth >= max_depth || depth >= SCV_JSON_SCAN_MAX_DEPTH)
            return -1;
        is_obj[depth++] = (unsigned char)(*p == '{');
        p++;
        SKIP_WS(p, end);
        if (p < end && *p == (is_obj[depth - 1] ? '}' : ']')) {
            p++;
            depth--;
            goto value_done;
        }
        if (is_obj[depth - 1])
            goto obj_key;
        goto value;
    case 't':
        if (end - p < 4 || memcmp(p, "true", 4) != 0)
            return -1;
        p += 4;
        goto value_done;
    case 'f':
        if (end - p < 5 || memcmp(p, "false", 5) != 0)
            return -1;
        p += 5;
        goto value_done;
    case 'n':
        if (end - p < 4 || memcmp(p, "null", 4) != 0)
            return -1;
        p += 4;
        goto value_done;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        if ((p = skip_number(p, end)) == NULL)
            return -1;
        goto value_done;
    default:
        return -1;
    }

obj_key:
    if (p >= end || *p != '"')
        return -1;
    {
        const unsigned char *k = p + 1;
        escaped = 0;
        if ((p = skip_string(k, end, &escaped)) == NULL)
            return -1;
        if (SCV_UNLIKELY(depth == 1)) {
            if (escaped || n >= cap)
                return -1;
            out[n].koff = (uint32_t)(k - start);
            out[n].klen = (uint32_t)(p - 1 - k);
            if (first)
                first[n] = (uint32_t)ne;
        }
    }
key_end:
    if (SCV_UNLIKELY(p < end && *p != ':'))
        SKIP_WS(p, end);
    if (p >= end || *p != ':')
        return -1;
    p++;
    /* Inside an item (below the top two levels), runs of members with
       scalar values are most of a page: check them here, member after
       member, without the general value / value_done states. Anything else
       (a container, whitespace) goes the general way, which accepts the
       same bytes. */
    while (depth > 2) {
        const unsigned char *q = p;
        if (q >= end)
            return -1;
        switch (*q) {
        case '"':
            if ((q = skip_string(q + 1, end, &escaped)) == NULL)
                return -1;
            break;
        case 't':
            if (end - q < 4 || memcmp(q, "true", 4) != 0)
                return -1;
            q += 4;
            break;
        case 'f':
            if (end - q < 5 || memcmp(q, "false", 5) != 0)
                return -1;
            q += 5;
            break;
        case 'n':
            if (end - q < 4 || memcmp(q, "null", 4) != 0)
                return -1;
            q += 4;
            break;
        case '-': case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9':
            if ((q = skip_number(q, end)) == NULL)
                return -1;
            break;
        default:
            goto value;
        }
        if (end - q >= 2 && q[0] == ',' && q[1] == '"') { /* the next member's key */
            if ((p = skip_string(q + 2, end, &escaped)) == NULL)
                return -1;
            if (p < end && *p == ':') {
                p++;
                continue;
            }
            goto key_end;
        }
        p = q;
        goto value_done;
    }
    goto value;

value_done:
    if (SCV_UNLIKELY(depth <= 1)) {
        if (depth == 0)
            goto finish;
        out[n].voff = (uint32_t)(vstart - start);
        out[n].vlen = (uint32_t)(p - vstart);
        n++;
    } else if (elems && SCV_UNLIKELY(depth == 2) && !is_obj[1]) {
        if (ne == *elem_cap) {
            size_t cap2 = ne ? ne * 2 : 128;
            scv_json_span *g = realloc(*elems, cap2 * sizeof *g);
            if (g == NULL)
                return -1;
            *elems = g;
            *elem_cap = cap2;
        }
        (*elems)[ne].off = (uint32_t)(estart - start);
        (*elems)[ne].len = (uint32_t)(p - estart);
        ne++;
    }
    if (SCV_UNLIKELY(p < end && ws_tab[*p]))
        SKIP_WS(p, end);
    if (p >= end)
        return -1;
    if (*p == ',') {
        p++;
        if (is_obj[depth - 1]) {
            if (SCV_UNLIKELY(p < end && *p != '"'))
                SKIP_WS(p, end);
            goto obj_key;
        }
        goto value;
    }
    if (*p != (is_obj[depth - 1] ? '}' : ']'))
        return -1;
    p++;
    depth--;
    goto value_done;

finish:
    SKIP_WS(p, end);
    if (p != end)
        return -1;
    if (first)
        first[n] = (uint32_t)ne;
    return n;
}

int scv_json_members(const char *str, size_t len, int max_depth,
                     scv_json_member *out, int cap)
{
    return scan_top_object(str, len, max_depth, out, NULL, cap, NULL, NULL);
}

int scv_json_index_page(const char *str, size_t len, int max_depth,
                        scv_json_member *out, uint32_t *first, int cap,
                        scv_json_span **elems, size_t *elem_cap)
{
    return scan_top_object(str, len, max_depth, out, first, cap, elems, elem_cap);
}

/* ------------------------------------------------------------------ */
/* Encoder                                                             */
/* ------------------------------------------------------------------ */

#define ENC_LOCAL_FRAMES 32
#define ENC_LOCAL_KEYS 32
#define ENC_LOCAL_OUT 2048
#define ENC_RESERVE 8
/* Object keys are anchored on the Lua stack (cheap) while the encoder uses
   fewer slots than this, in a private table otherwise. */
#define ENC_STACK_BUDGET 1024

typedef struct {
    int tbl;     /* stack index of the table */
    int obj;     /* object (1) or array (0) */
    long long i; /* items emitted */
    long long n; /* items to emit */
    size_t kbase; /* first key entry of this object */
} eframe;

typedef struct {
    const char *s;
    size_t len;
    /* Where the key string is anchored (so that it outlives any change to
       the table, e.g. by a finalizer or a weak table): > 0 a Lua stack
       index, < 0 minus its index in the anchor table. */
    long anchor;
} ekey;

typedef struct {
    lua_State *L;
    char *out;
    size_t len, cap;
    int out_slot;
    eframe *fr;
    int frcap, depth;
    int fr_slot;
    ekey *keys;
    size_t nkeys, kcap;
    int keys_slot;
    int ktab_slot, has_ktab;
    int mt_slot, has_mt;
    int stack_base;
    int max_depth;
    char *err;
    size_t errlen;
    eframe fr_local[ENC_LOCAL_FRAMES];
    ekey keys_local[ENC_LOCAL_KEYS];
    char out_local[ENC_LOCAL_OUT];
} enc_t;

static void enc_grow(enc_t *e, size_t n)
{
    size_t need = e->len + n, ncap;
    if (need < e->len)
        need = (size_t)-1; /* overflow: let the allocator fail */
    ncap = grow_cap(e->cap, need);
    e->out = (char *)grow_block(e->L, e->out_slot, e->out, e->len, ncap);
    e->cap = ncap;
}

SCV_INLINE void enc_reserve(enc_t *e, size_t n)
{
    if (SCV_UNLIKELY(e->cap - e->len < n))
        enc_grow(e, n);
}

SCV_INLINE void enc_put(enc_t *e, const char *s, size_t n)
{
    enc_reserve(e, n);
    memcpy(e->out + e->len, s, n);
    e->len += n;
}

SCV_INLINE void enc_putc(enc_t *e, char c)
{
    enc_reserve(e, 1);
    e->out[e->len++] = c;
}

static void enc_string(enc_t *e, const char *str, size_t len)
{
    static const char hexd[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)str, *end = p + len;
    char *o;

    enc_reserve(e, len + 2);
    e->out[e->len++] = '"';
    for (;;) {
        const unsigned char *run = p;
        size_t n;
        p = scan_plain(p, end);
        n = (size_t)(p - run);
        memcpy(e->out + e->len, run, n); /* reserved: remaining + 1 */
        e->len += n;
        if (p == end)
            break;
        enc_reserve(e, 6 + (size_t)(end - p));
        o = e->out + e->len;
        o[0] = '\\';
        switch (*p) {
        case '"': o[1] = '"'; e->len += 2; break;
        case '\\': o[1] = '\\'; e->len += 2; break;
        case '\b': o[1] = 'b'; e->len += 2; break;
        case '\f': o[1] = 'f'; e->len += 2; break;
        case '\n': o[1] = 'n'; e->len += 2; break;
        case '\r': o[1] = 'r'; e->len += 2; break;
        case '\t': o[1] = 't'; e->len += 2; break;
        default:
            o[1] = 'u';
            o[2] = '0';
            o[3] = '0';
            o[4] = hexd[*p >> 4];
            o[5] = hexd[*p & 15];
            e->len += 6;
            break;
        }
        p++;
    }
    e->out[e->len++] = '"';
}

static void enc_int(enc_t *e, long long v)
{
    char tmp[24];
    char *q = tmp + sizeof(tmp);
    unsigned long long u =
        v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--q = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    if (v < 0)
        *--q = '-';
    enc_put(e, q, (size_t)(tmp + sizeof(tmp) - q));
}

/* Emit (neg ? "-" : "") m * 10^-k in fixed notation; k >= 1 and m does
   not end in 0. */
static void enc_fixed(enc_t *e, int neg, unsigned long long m, int k)
{
    char tmp[48];
    char *q = tmp + sizeof(tmp);
    int i;
    for (i = 0; i < k; i++) {
        *--q = (char)('0' + (int)(m % 10));
        m /= 10;
    }
    *--q = '.';
    do {
        *--q = (char)('0' + (int)(m % 10));
        m /= 10;
    } while (m);
    if (neg)
        *--q = '-';
    enc_put(e, q, (size_t)(tmp + sizeof(tmp) - q));
}

static int enc_float(enc_t *e, double x)
{
    char tmp[40];
    int prec, n = 0;
    char dp;

    if (isnan(x) || isinf(x)) {
        scv_set_err(e->err, e->errlen, "cannot encode NaN or Inf");
        return 0;
    }
    if (x == floor(x) && fabs(x) < 1e15) {
        if (x == 0 && signbit(x))
            enc_put(e, "-0", 2);
        else
            enc_int(e, (long long)x);
        return 1;
    }
#if SCV_FAST_FLOAT
    {
        /* Fast path for values with at most 15 significant digits written
           in fixed notation by %g (1e-4 <= |x| < 1e15): find the smallest
           k with x == m / 10^k exactly (m < 1e15; the division is correctly
           rounded, so the decimal m*10^-k reads back as x).  Such an x is
           within half an ulp of m*10^-k, so %.15g would print exactly these
           digits: the output is identical to the snprintf path below. */
        double ax = fabs(x);
        if (ax >= 1e-4) {
            int k;
            for (k = 1; k <= 19; k++) {
                double y = ax * pow10_tab[k], m;
                if (y >= 1e15)
                    break;
                m = floor(y + 0.5);
                if (m / pow10_tab[k] == ax) {
                    enc_fixed(e, x < 0, (unsigned long long)m, k);
                    return 1;
                }
            }
        }
    }
#endif
    for (prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, x);
        if (prec == 17 || strtod(tmp, NULL) == x)
            break;
    }
    if (n <= 0 || (size_t)n >= sizeof(tmp)) {
        scv_set_err(e->err, e->errlen, "cannot format number");
        return 0;
    }
    dp = locale_decimal_point();
    if (dp != '.') {
        int i;
        for (i = 0; i < n; i++)
            if (tmp[i] == dp)
                tmp[i] = '.';
    }
    enc_put(e, tmp, (size_t)n);
    return 1;
}

static int enc_key_less(const ekey *a, const ekey *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->s, b->s, n) : 0;
    return c < 0 || (c == 0 && a->len < b->len);
}

/* Sort k[0..n) bytewise; tmp has room for n entries. */
static void enc_sort_keys(ekey *k, size_t n, ekey *tmp)
{
    if (n <= 12) {
        size_t i, j;
        for (i = 1; i < n; i++) {
            ekey x = k[i];
            for (j = i; j > 0 && enc_key_less(&x, &k[j - 1]); j--)
                k[j] = k[j - 1];
            k[j] = x;
        }
    } else {
        size_t h = n / 2, i = 0, j = h, o = 0;
        enc_sort_keys(k, h, tmp);
        enc_sort_keys(k + h, n - h, tmp);
        while (i < h && j < n)
            tmp[o++] = enc_key_less(&k[j], &k[i]) ? k[j++] : k[i++];
        while (i < h)
            tmp[o++] = k[i++];
        while (j < n)
            tmp[o++] = k[j++];
        memcpy(k, tmp, n * sizeof(ekey));
    }
}

static void enc_keys_reserve(enc_t *e, size_t need)
{
    size_t ncap = grow_cap(e->kcap, need);
    e->keys = (ekey *)grow_block(e->L, e->keys_slot, e->keys,
                                 e->nkeys * sizeof(ekey),
                                 ncap * sizeof(ekey));
    e->kcap = ncap;
}

/* Error for a table at the top of the stack that cannot be entered. */
static int enc_depth_fail(enc_t *e, const char *why)
{
    int i;
    for (i = 0; i < e->depth; i++) {
        if (lua_rawequal(e->L, -1, e->fr[i].tbl)) {
            scv_set_err(e->err, e->errlen,
                        "cannot encode table with a reference cycle");
            return 0;
        }
    }
    scv_set_err(e->err, e->errlen, "%s", why);
    return 0;
}

/* Classify the table at the top of the stack and open its frame. */
static int enc_open_table(enc_t *e)
{
    lua_State *L = e->L;
    int t = lua_gettop(L), isarr = 0, obj = 0;
    long long n = 0;
    size_t kbase = e->nkeys;
    eframe *f;

    if (e->depth >= e->max_depth) {
        char msg[64];
        snprintf(msg, sizeof(msg), "nesting deeper than max_depth (%d)",
                 e->max_depth);
        return enc_depth_fail(e, msg);
    }
    if (!lua_checkstack(L, ENC_RESERVE))
        return enc_depth_fail(e, "nesting too deep for the Lua stack");
    if (lua_getmetatable(L, t)) {
        if (!e->has_mt) { /* fetched on first need */
            push_array_mt(L);
            lua_replace(L, e->mt_slot);
            e->has_mt = 1;
        }
        isarr = lua_rawequal(L, -1, e->mt_slot);
        lua_pop(L, 1);
    }
    if (isarr) {
        n = (long long)scv_rawlen(L, t);
    } else {
        long long nint = 0, maxk = 0;
        size_t nstr = 0;
        lua_pushnil(L);
        while (lua_next(L, t)) {
            int kt = lua_type(L, -2);
            if (kt == LUA_TSTRING) {
                ekey *k;
                if (nint)
                    goto mixed;
                if (e->nkeys >= e->kcap)
                    enc_keys_reserve(e, e->nkeys + 1);
                k = &e->keys[e->nkeys];
                e->nkeys++;
                nstr++;
                if (lua_gettop(L) - e->stack_base < ENC_STACK_BUDGET &&
                    lua_checkstack(L, ENC_RESERVE)) {
                    /* keep a copy of the key below the one lua_next uses */
                    lua_pop(L, 1);
                    lua_pushvalue(L, -1);
                    k->anchor = (long)lua_gettop(L) - 1;
                    k->s = lua_tolstring(L, -1, &k->len);
                    continue;
                }
                if (!e->has_ktab) {
                    lua_createtable(L, 16, 0);
                    lua_replace(L, e->ktab_slot);
                    e->has_ktab = 1;
                }
                lua_pushvalue(L, -2);
                lua_rawseti(L, e->ktab_slot, (scv_idx_t)e->nkeys);
                k->anchor = -(long)e->nkeys;
                k->s = lua_tolstring(L, -2, &k->len);
            } else if (kt == LUA_TNUMBER) {
                long long k;
                if (nstr)
                    goto mixed;
#if SCV_HAS_INT
                if (!lua_isinteger(L, -2)) {
                    scv_set_err(e->err, e->errlen,
                                "cannot encode table with a non-integer "
                                "number key");
                    return 0;
                }
                k = (long long)lua_tointeger(L, -2);
#else
                {
                    lua_Number kn = lua_tonumber(L, -2);
                    if (!(kn >= 1 && kn <= 9007199254740992.0 &&
                          floor(kn) == kn)) {
                        scv_set_err(e->err, e->errlen,
                                    "cannot encode table with a non-integer "
                                    "or non-positive number key");
                        return 0;
                    }
                    k = (long long)kn;
                }
#endif
                if (k < 1) {
                    scv_set_err(e->err, e->errlen,
                                "cannot encode table with a number key < 1 "
                                "(sparse array)");
                    return 0;
                }
                nint++;
                if (k > maxk)
                    maxk = k;
            } else {
                scv_set_err(e->err, e->errlen,
                            "cannot encode table with a key of type %s",
                            lua_typename(L, kt));
                return 0;
            }
            lua_pop(L, 1);
        }
        if (nint) {
            if (maxk != nint) {
                scv_set_err(e->err, e->errlen,
                            "cannot encode sparse array (keys are not 1..n)");
                return 0;
            }
            n = nint;
        } else {
            obj = 1;
            n = (long long)nstr;
            if (nstr > 1) {
                if (e->kcap - e->nkeys < nstr)
                    enc_keys_reserve(e, e->nkeys + nstr);
                enc_sort_keys(e->keys + kbase, nstr, e->keys + e->nkeys);
            }
        }
    }

    if (e->depth >= e->frcap) {
        size_t ncap = (size_t)e->frcap * 2;
        if (ncap > (size_t)e->max_depth)
            ncap = (size_t)e->max_depth;
        e->fr = (eframe *)grow_block(L, e->fr_slot, e->fr,
                                     (size_t)e->depth * sizeof(eframe),
                                     ncap * sizeof(eframe));
        e->frcap = (int)ncap;
    }
    f = &e->fr[e->depth++];
    f->tbl = t;
    f->obj = obj;
    f->i = 0;
    f->n = n;
    f->kbase = kbase;
    enc_putc(e, obj ? '{' : '[');
    return 1;

mixed:
    scv_set_err(e->err, e->errlen,
                "cannot encode table with mixed string and number keys");
    return 0;
}

static int enc_run(enc_t *e)
{
    lua_State *L = e->L;
    eframe *f;

value:
    /* encode and pop the value at the top of the stack */
    switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        enc_string(e, s, len);
        break;
    }
    case LUA_TNUMBER:
#if SCV_HAS_INT
        if (lua_isinteger(L, -1)) {
            enc_int(e, (long long)lua_tointeger(L, -1));
            break;
        }
#endif
        if (!enc_float(e, (double)lua_tonumber(L, -1)))
            return 0;
        break;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, -1))
            enc_put(e, "true", 4);
        else
            enc_put(e, "false", 5);
        break;
    case LUA_TNIL:
        enc_put(e, "null", 4);
        break;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, -1) == NULL) {
            enc_put(e, "null", 4);
            break;
        }
        scv_set_err(e->err, e->errlen,
                    "cannot encode lightuserdata other than null");
        return 0;
    case LUA_TUSERDATA:
        if (scv_json_isnull(L, -1)) {
            enc_put(e, "null", 4);
            break;
        }
        scv_set_err(e->err, e->errlen, "cannot encode value of type userdata");
        return 0;
    case LUA_TTABLE:
        if (!enc_open_table(e))
            return 0;
        goto next; /* the table stays on the stack while it is open */
    default:
        scv_set_err(e->err, e->errlen, "cannot encode value of type %s",
                    lua_typename(L, lua_type(L, -1)));
        return 0;
    }
    lua_pop(L, 1);

next:
    if (e->depth == 0)
        return 1;
    f = &e->fr[e->depth - 1];
    if (f->i < f->n) {
        if (f->i)
            enc_putc(e, ',');
        f->i++;
        if (!f->obj) {
            lua_rawgeti(L, f->tbl, (scv_idx_t)f->i);
        } else {
            const ekey *k = &e->keys[f->kbase + (size_t)f->i - 1];
            enc_string(e, k->s, k->len);
            enc_putc(e, ':');
            if (k->anchor > 0)
                lua_pushvalue(L, (int)k->anchor);
            else
                lua_rawgeti(L, e->ktab_slot, (scv_idx_t)-k->anchor);
            lua_rawget(L, f->tbl);
        }
        goto value;
    }
    enc_putc(e, f->obj ? '}' : ']');
    e->nkeys = f->kbase;
    lua_settop(L, f->tbl - 1);
    e->depth--;
    goto next;
}

int scv_json_encode(lua_State *L, int idx, int max_depth, char *err,
                    size_t errlen)
{
    enc_t e;
    int base = lua_gettop(L);

    if (err && errlen)
        err[0] = '\0';
    if (idx < 0 && idx > LUA_REGISTRYINDEX)
        idx = base + idx + 1;
    if (!lua_checkstack(L, 16)) {
        scv_set_err(err, errlen, "Lua stack exhausted");
        return 0;
    }
    e.L = L;
    e.out = e.out_local;
    e.len = 0;
    e.cap = sizeof(e.out_local);
    e.fr = e.fr_local;
    e.frcap = ENC_LOCAL_FRAMES;
    e.depth = 0;
    e.keys = e.keys_local;
    e.nkeys = 0;
    e.kcap = ENC_LOCAL_KEYS;
    e.has_ktab = 0;
    e.has_mt = 0;
    e.max_depth = max_depth > 0 ? max_depth : SCV_JSON_DEFAULT_MAX_DEPTH;
    e.err = err;
    e.errlen = errlen;
    lua_pushnil(L);
    e.out_slot = base + 1;
    lua_pushnil(L);
    e.fr_slot = base + 2;
    lua_pushnil(L);
    e.keys_slot = base + 3;
    lua_pushnil(L);
    e.ktab_slot = base + 4;
    lua_pushnil(L);
    e.mt_slot = base + 5;
    e.stack_base = base + 5;
    lua_pushvalue(L, idx);

    if (!enc_run(&e)) {
        lua_settop(L, base);
        return 0;
    }
    lua_pushlstring(L, e.out, e.len);
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
    return 1;
}
