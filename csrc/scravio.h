/*
 * scravio.h - what the C core's files share with one another.
 *
 * One concern per file:
 *   core.c       luaopen_scravio_core: the module table, JSON/sleep/clock bindings
 *   json.c       the JSON codec (exact integers, null sentinel, array marking)
 *   buf.c        a small growable byte buffer that owns its memory
 *   url.c        path-segment and query-string encoding
 *   client.c     the Client userdata: configuration, secrets, request building
 *   transport.c  the libcurl transport: one kept-alive handle per client
 *   errors.c     response classification and the scravio.Error object
 *   pager.c      the pagination state machine over the API's list envelopes
 *   resources.c  the Campaign, ValidationJob and Export userdata
 *   lazydoc.c    a JSON object kept as bytes, decoded one field at a time
 *   lazypage.c   a list page kept as bytes, its items decoded one at a time
 *   interrupt.c  Ctrl-C (SIGINT) during sleeps and file transfers
 *   terminal.c   the terminal's width, for progress lines
 */
#ifndef SCRAVIO_H
#define SCRAVIO_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include "compat.h"

#define SCV_VERSION "0.1.0"

#define SCV_CLIENT_MT "scravio.Client"
#define SCV_ERROR_MT "scravio.Error"
#define SCV_PAGER_MT "scravio.Pager"

/* ---- interrupt.c ---------------------------------------------------- */
/* While a guard is active SIGINT is blocked in this thread (only when the
 * program has a SIGINT handler, as lua and luajit do) and watched. */
typedef struct {
  sigset_t saved;
  int active;
} scv_sigint_guard;
void scv_sigint_begin(scv_sigint_guard *g);
int scv_sigint_pending(const scv_sigint_guard *g); /* a SIGINT is waiting */
int scv_sigint_end(scv_sigint_guard *g);           /* restore; 1 when a SIGINT was consumed */
/* Sleep, returning 1 at once when SIGINT comes (consumed), else 0. */
int scv_sigint_sleep(double seconds);

/* ---- terminal.c ----------------------------------------------------- */
int scv_terminal_columns(void); /* COLUMNS, else the terminal's, else 80 */

/* ---- buf.c ---------------------------------------------------------- */
typedef struct {
  char *data;
  size_t len, cap;
} scv_buf;

void scv_buf_init(scv_buf *b);
void scv_buf_free(scv_buf *b);
int scv_buf_reserve(scv_buf *b, size_t extra); /* 0 ok, -1 out of memory */
int scv_buf_add(scv_buf *b, const char *s, size_t n);
int scv_buf_adds(scv_buf *b, const char *s);
int scv_buf_addc(scv_buf *b, char c);
int scv_buf_nul(scv_buf *b); /* keep a NUL after data without counting it */

/* ---- url.c ---------------------------------------------------------- */
/* Percent-encode one path segment: only RFC 3986 unreserved bytes pass. */
int scv_url_add_segment(scv_buf *b, const char *s, size_t n);
/* Percent-encode one query component (key or value). */
int scv_url_add_component(scv_buf *b, const char *s, size_t n);
/* Encode the table at idx as a query string (no leading '?'), keys sorted.
 * Returns 1 on success, 0 with a message in err on a value we cannot send. */
int scv_query_encode(lua_State *L, int idx, scv_buf *b, char *err, size_t errlen);
/* A header value may not carry CR, LF or other control bytes. */
int scv_header_value_ok(const char *s, size_t n);
/* Is the URL's host a loopback address (127.0.0.0/8, ::1, localhost)? */
int scv_url_is_loopback(const char *url);
/* Copy the host[:port] part of an absolute URL into out. */
int scv_url_authority(const char *url, char *out, size_t outlen);
/* Are these n bytes well-formed UTF-8 (RFC 3629)? */
int scv_utf8_valid(const char *s, size_t n);
/* Does the URL's authority carry userinfo (user[:password]@host)? */
int scv_url_has_userinfo(const char *url);

/* ---- errors.c ------------------------------------------------------- */
typedef struct {
  long status;
  const char *body;
  size_t body_len;
  const char *content_type; /* may be NULL */
  const char *request_id;   /* X-Request-Id header, may be NULL */
  const char *retry_after;  /* Retry-After header, may be NULL */
  const char *location;     /* Location header, may be NULL */
  const char *rate_limit[3]; /* X-RateLimit-Limit, -Remaining, -Reset headers, each may be NULL */
  const char *method;
  const char *path;
  int max_depth;
  const char *secret;       /* the client's credential, so an echo of it is masked; may be NULL */
  const char *secret_hint;  /* what replaces it */
} scv_response;

/* Classify a complete response. On 2xx with a JSON (or empty) body pushes
 * the decoded value and returns 1; otherwise pushes a scravio.Error table and
 * returns 0. Never raises for bad server input. */
int scv_classify(lua_State *L, const scv_response *r);

/* Push a new error table with the given kind and message, metatable set. */
void scv_push_error(lua_State *L, const char *kind, const char *message,
                    const char *method, const char *path);
/* Seconds in a Retry-After value (delta-seconds or HTTP date); -1 if none. */
double scv_parse_retry_after(const char *v);
void scv_errors_open(lua_State *L); /* registers the metatable + functions */

/* ---- mask.c: the one masking function (see there) -------------------- */
/* The longest header value kept (X-Request-Id, Content-Type, Location), on
 * both transports: longer ones are cut here, after masking. */
#define SCV_HEADER_VALUE_MAX 4096
/* src[0..n) into out (NUL-terminated, at most cap-1 bytes) with the
 * credential masked, then cut; returns the length written. */
size_t scv_mask(const char *secret, const char *hint, const char *src, size_t n, char *out, size_t cap);
/* Push src[0..n) as a Lua string with the credential masked, then cut to max bytes. */
void scv_push_masked(lua_State *L, const char *secret, const char *hint, const char *src, size_t n, size_t max);
void scv_mask_open(lua_State *L); /* core.mask, core.HEADER_VALUE_MAX */

/* ---- files.c: creating and placing downloaded files ------------------ */
void scv_files_open(lua_State *L); /* core.create_file, core.place_file */

/* ---- json.c --------------------------------------------------------- */
#include "json.h"

/* ---- client.c / transport.c ---------------------------------------- */
typedef struct scv_client scv_client;
scv_client *scv_check_client(lua_State *L, int idx);
/* The credential inside the client's auth header, and its masked form
 * (secret NULL when c is NULL or closed). */
void scv_client_secret(const scv_client *c, const char **secret, const char **hint);
void scv_client_open(lua_State *L);
void scv_transport_open(lua_State *L, int methods_idx);

/* ---- lazydoc.c ------------------------------------------------------ */
#define SCV_LAZYDOC_MT "scravio.LazyDoc"
/* Push a LazyDoc for the JSON object in body (or for the `data` object of a
 * {"success", "data"} envelope) and return 1; return 0 with nothing pushed
 * when the body is anything else (not valid JSON, not an object, escaped
 * keys, too many members...): the caller decodes it eagerly then. */
int scv_lazydoc_push(lua_State *L, const char *body, size_t len, int max_depth);
/* Push the decoded value of field `key` of the LazyDoc at idx and return 1,
 * or return 0 (nothing pushed) when it has no such field. */
int scv_lazydoc_get(lua_State *L, int idx, const char *key, size_t klen);
/* Push a table with every field of the LazyDoc at idx. Values already in the
 * table at `cache` (a stack index, or 0 for none) are used as they are. */
void scv_lazydoc_table(lua_State *L, int idx, int cache);
/* Register the LazyDoc metatable; adds core.lazydoc_mt and core.lazy_decode
 * to the module table on top. */
void scv_lazydoc_open(lua_State *L);

/* ---- lazypage.c ----------------------------------------------------- */
#define SCV_LAZYPAGE_MT "scravio.LazyPage"
/* What a list page's envelope says, as pager.c reads it from a decoded one. */
typedef struct {
  int has_current;        /* currentPage (else page) was a number */
  lua_Integer current;
  lua_Integer pages, total, per_page; /* -1 where the page did not say */
  uint64_t fingerprint;   /* of the items, for the repeated-page guard */
} scv_page_counts;
/* Push a LazyPage for a list page in body and return 1, or return 0 with
 * nothing pushed when body is not a top-level {items|transactions} page the
 * pager would stream (invalid JSON, another envelope...): decode it eagerly
 * then. The value at stack index anchor keeps the bytes alive (the body's
 * Lua string), or, with take, is the client whose body buffer `take` is: the
 * page takes that buffer and page:release() hands it back
 * (scv_client_body_return). */
int scv_lazypage_push(lua_State *L, const char *body, size_t len, int max_depth, int anchor, scv_buf *take);
/* The counters and item count of the (unreleased) LazyPage at idx, or NULL
 * when idx holds none. */
const scv_page_counts *scv_lazypage_counts(lua_State *L, int idx, size_t *n);
/* Adds core.lazypage_mt and core.lazy_page to the module table on top. */
void scv_lazypage_open(lua_State *L);
/* transport.c: a body buffer a LazyPage took goes back to the client at idx
 * (kept when it is the bigger one, else freed; freed when idx holds no open
 * client). Leaves b empty. */
void scv_client_body_return(lua_State *L, int idx, scv_buf *b);

/* The arrays a list envelope keeps its items in at its top, in the order the
 * pager looks for them (pager.c, lazypage.c). */
#define SCV_PAGE_TOP_LISTS {"items", "transactions", NULL}

/* ---- pager.c / resources.c ----------------------------------------- */
void scv_pager_open(lua_State *L);
void scv_resources_open(lua_State *L);

#endif
