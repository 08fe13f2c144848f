/*
 * libFuzzer target for the JSON codec (csrc/json.c), Lua 5.4.
 *
 * For every input:
 *  1. decode it; on success encode the result (a decoded value must always
 *     encode), decode that again and check that it re-encodes to the very
 *     same bytes (abort() otherwise);
 *  2. when step 1 succeeded, repeat it in a fresh state whose allocator
 *     starts failing after an input-dependent number of allocations, under
 *     lua_pcall: memory errors raised mid-way must neither crash nor leak.
 *  3. the scanner scv_json_members agrees with the decoder (check_members).
 * The stack discipline of the API (exactly one value pushed on success,
 * nothing on failure) is checked too.  See fuzz/README.md for the build.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "../csrc/json.h"

#define FUZZ_MAX_DEPTH 256

typedef struct {
    size_t count; /* allocations (and growths) done so far */
    size_t limit; /* fail every allocation once count reaches this */
} alloc_state;

static void *fuzz_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    alloc_state *st = (alloc_state *)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (ptr == NULL || nsize > osize) {
        if (st->count >= st->limit)
            return NULL;
        st->count++;
    }
    return realloc(ptr, nsize);
}

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_json: %s: %s\n", what, detail ? detail : "");
    abort();
}

/* Round trip; returns 1 if the input decoded.  Aborts on a violated
   invariant.  Lua memory errors propagate to the caller.  When !strict
   (allocator failing), a call may also report failure (lua_checkstack
   cannot grow the stack): then stop quietly. */
static int round_trip(lua_State *L, const char *data, size_t size, int strict)
{
    char err[128];
    const char *s1, *s2;
    size_t n1, n2;
    int top = lua_gettop(L);

    if (!scv_json_decode(L, data, size, FUZZ_MAX_DEPTH, err, sizeof(err))) {
        if (lua_gettop(L) != top)
            fail("decode failure left values on the stack", err);
        if (err[0] == '\0')
            fail("decode failure without message", NULL);
        if (!strict)
            return 0;
        /* the same failure with a tiny / absent message buffer */
        if (scv_json_decode(L, data, size, FUZZ_MAX_DEPTH, err, 5) ||
            strlen(err) > 4)
            fail("decode not deterministic / message overflow", err);
        if (scv_json_decode(L, data, size, FUZZ_MAX_DEPTH, NULL, 0))
            fail("decode not deterministic", NULL);
        return 0;
    }
    if (lua_gettop(L) != top + 1)
        fail("decode pushed a wrong number of values", NULL);

    if (!scv_json_encode(L, top + 1, FUZZ_MAX_DEPTH, err, sizeof(err))) {
        if (!strict && lua_gettop(L) == top + 1)
            return 0;
        fail("decoded value does not encode", err);
    }
    if (lua_gettop(L) != top + 2 || lua_type(L, -1) != LUA_TSTRING)
        fail("encode pushed a wrong value", NULL);
    s1 = lua_tolstring(L, -1, &n1);

    if (!scv_json_decode(L, s1, n1, FUZZ_MAX_DEPTH, err, sizeof(err))) {
        if (!strict && lua_gettop(L) == top + 2)
            return 0;
        fail("encoder output does not decode", err);
    }
    if (!scv_json_encode(L, -1, FUZZ_MAX_DEPTH, err, sizeof(err))) {
        if (!strict && lua_gettop(L) == top + 3)
            return 0;
        fail("second encode failed", err);
    }
    if (lua_gettop(L) != top + 4)
        fail("stack imbalance", NULL);
    s2 = lua_tolstring(L, -1, &n2);
    if (n1 != n2 || memcmp(s1, s2, n1) != 0) {
        fprintf(stderr, "first:  %.*s\nsecond: %.*s\n", (int)(n1 > 2000 ? 2000 : n1), s1,
                (int)(n2 > 2000 ? 2000 : n2), s2);
        fail("re-encoding is not byte-identical", NULL);
    }
    lua_settop(L, top);
    return 1;
}

/* The scanner (scv_json_members) must accept only what the decoder
   accepts, and each member span must decode on its own to the value the
   whole document gave that key (the last duplicate wins). */
#define FUZZ_MEMBERS 64
static void check_members(lua_State *L, const char *data, size_t size,
                          int decoded)
{
    scv_json_member m[FUZZ_MEMBERS];
    char err[128];
    int n = scv_json_members(data, size, FUZZ_MAX_DEPTH, m, FUZZ_MEMBERS);
    int top = lua_gettop(L), i, j;
    size_t k = 0;

    if (n < 0) {
        /* Short inputs without escapes hold no reason to refuse an object
           the decoder took. */
        while (k < size && (data[k] == ' ' || data[k] == '\t' ||
                            data[k] == '\n' || data[k] == '\r'))
            k++;
        if (decoded && size < 64 && k < size && data[k] == '{' &&
            memchr(data, '\\', size) == NULL)
            fail("scanner refused an object the decoder accepted", NULL);
        return;
    }
    if (!decoded)
        fail("scanner accepted what the decoder refused", NULL);
    if (!scv_json_decode(L, data, size, FUZZ_MAX_DEPTH, err, sizeof(err)) ||
        !lua_istable(L, -1))
        fail("scanner accepted a non-object", err);
    for (i = 0; i < n; i++) {
        const char *a, *b;
        size_t na, nb;
        for (j = i + 1; j < n; j++) /* a later duplicate wins */
            if (m[j].klen == m[i].klen &&
                memcmp(data + m[j].koff, data + m[i].koff, m[i].klen) == 0)
                break;
        if (j < n)
            continue;
        if (m[i].voff + m[i].vlen > size || m[i].koff + m[i].klen > size)
            fail("member span out of bounds", NULL);
        lua_pushlstring(L, data + m[i].koff, m[i].klen);
        lua_rawget(L, top + 1);
        if (!scv_json_encode(L, -1, FUZZ_MAX_DEPTH, err, sizeof(err)))
            fail("member of decoded object does not encode", err);
        if (!scv_json_decode(L, data + m[i].voff, m[i].vlen, FUZZ_MAX_DEPTH,
                             err, sizeof(err)))
            fail("member span does not decode", err);
        if (!scv_json_encode(L, -1, FUZZ_MAX_DEPTH, err, sizeof(err)))
            fail("member span value does not encode", err);
        a = lua_tolstring(L, -3, &na);
        b = lua_tolstring(L, -1, &nb);
        if (na != nb || memcmp(a, b, na) != 0)
            fail("member span decodes to another value", NULL);
        lua_settop(L, top + 1);
    }
    lua_settop(L, top);
}

static int pcall_round_trip(lua_State *L)
{
    const char *data = (const char *)lua_touserdata(L, 1);
    size_t size = (size_t)lua_tointeger(L, 2);
    lua_settop(L, 0);
    round_trip(L, data, size, 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    alloc_state st = {0, (size_t)-1};
    size_t base_allocs, used, h = 5381, i;
    lua_State *L = lua_newstate(fuzz_alloc, &st);
    int ok;

    if (L == NULL)
        return 0;
    scv_json_init(L);
    base_allocs = st.count;
    ok = round_trip(L, (const char *)data, size, 1);
    used = st.count - base_allocs;
    check_members(L, (const char *)data, size, ok);
    lua_close(L);
    if (!ok)
        return 0;

    /* Same work, with the allocator failing part-way. */
    for (i = 0; i < size; i++)
        h = h * 33u + data[i];
    st.count = 0;
    st.limit = (size_t)-1;
    L = lua_newstate(fuzz_alloc, &st);
    if (L == NULL)
        return 0;
    scv_json_init(L);
    lua_pushcfunction(L, pcall_round_trip);
    lua_pushlightuserdata(L, (void *)data);
    lua_pushinteger(L, (lua_Integer)size);
    st.limit = st.count + h % (used + 1);
    ok = lua_pcall(L, 2, 0, 0);
    if (ok != LUA_OK && ok != LUA_ERRMEM)
        fail("unexpected Lua error", lua_tostring(L, -1));
    st.limit = (size_t)-1;
    lua_close(L);
    return 0;
}
