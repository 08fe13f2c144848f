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
