/*
 * c_loop.c - the floor for request overhead: a plain C libcurl loop.
 *
 *   c_loop URL N WARMUP API_KEY [USER_AGENT]
 *
 * When URL holds "%ld" it is a page URL: request i (from 1) asks for page i
 * (the warm-up requests too), which makes this the floor for pagination:
 * the same pages transferred, nothing decoded.
 *
 * One easy handle reused for every request (keep-alive), the same request
 * headers the SDK sends (csrc/client.c api_headers, in its order, and the
 * SDK's User-Agent when bench.lua passes it: libcurl 7.88 formats request
 * header bytes one at a time, ~100 instructions each, so a shorter request
 * would make a cheaper floor), the body appended into a growable buffer that is
 * reset between requests; no JSON decoding. Prints "us=<wall µs per request>
 * cpu_us=<this process's CPU µs per request> bytes=<last body's size>".
 *
 * Built by bench/run.sh with: gcc -O2 -o c_loop bench/c_loop.c -lcurl
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  char *data;
  size_t len, cap;
} buf;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
  buf *b = ud;
  size_t n = size * nmemb;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 16384;
    while (cap < b->len + n) cap *= 2;
    char *d = realloc(b->data, cap);
    if (d == NULL) return 0;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, ptr, n);
  b->len += n;
  return n;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one(CURL *e, buf *b) {
  b->len = 0;
  CURLcode rc = curl_easy_perform(e);
  long code = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
  if (rc != CURLE_OK || code != 200) {
    fprintf(stderr, "c_loop: %s (HTTP %ld)\n", curl_easy_strerror(rc), code);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: c_loop URL N WARMUP API_KEY\n");
    return 2;
  }
  const char *url = argv[1];
  long n = atol(argv[2]), warm = atol(argv[3]);
  char auth[256];
  snprintf(auth, sizeof auth, "X-API-Key: %s", argv[4]);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *e = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
  h = curl_slist_append(h, "Accept-Encoding: identity");
  h = curl_slist_append(h, "Expect:");
  h = curl_slist_append(h, auth);
  h = curl_slist_append(h, "Content-Type:");
  buf b = {NULL, 0, 0};
  int paged = strstr(url, "%ld") != NULL;
  char page_url[2048];
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, argc > 5 ? argv[5] : "c_loop");
#define PAGE(i) \
  if (paged) { \
    snprintf(page_url, sizeof page_url, url, (i) + 1); \
    curl_easy_setopt(e, CURLOPT_URL, page_url); \
  }
  for (long i = 0; i < warm; i++) {
    PAGE(i)
    if (one(e, &b)) return 1;
  }
  double t0 = now();
  clock_t c0 = clock();
  for (long i = 0; i < n; i++) {
    PAGE(i)
    if (one(e, &b)) return 1;
  }
  double dt = now() - t0;
  double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
  printf("us=%.2f cpu_us=%.2f bytes=%zu\n", dt * 1e6 / (double)n, cpu * 1e6 / (double)n, b.len);
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
  free(b.data);
  curl_global_cleanup();
  return 0;
}
