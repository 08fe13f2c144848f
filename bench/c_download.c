/*
 * c_download.c - the floor for downloads: a plain C libcurl loop that writes
 * the body straight to a file with write(2), with a 512 KiB receive buffer
 * (the SDK's download buffer size).
 *
 *   c_download URL OUT_PATH
 *
 * Prints "seconds=<wall> bytes=<written> rss_start_kb=<VmRSS before>
 * rss_peak_kb=<VmHWM after>".
 *
 * Built by bench/run.sh with: gcc -O2 -o c_download bench/c_download.c -lcurl
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int fd;
  size_t written;
  int failed;
} sink;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
  sink *s = ud;
  size_t n = size * nmemb, done = 0;
  while (done < n) {
    ssize_t w = write(s->fd, ptr + done, n - done);
    if (w < 0) {
      s->failed = 1;
      return 0;
    }
    done += (size_t)w;
  }
  s->written += n;
  return n;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long status_kb(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) return -1;
  char line[256];
  long v = -1;
  size_t fl = strlen(field);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, field, fl) == 0 && line[fl] == ':') v = atol(line + fl + 1);
  fclose(f);
  return v;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: c_download URL OUT_PATH\n");
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *e = curl_easy_init();
  sink s = {open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644), 0, 0};
  if (s.fd < 0) {
    perror(argv[2]);
    return 1;
  }
  curl_easy_setopt(e, CURLOPT_URL, argv[1]);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  long rss_start = status_kb("VmRSS");
  FILE *clear = fopen("/proc/self/clear_refs", "w"); /* VmHWM from here */
  if (clear) {
    fputs("5", clear);
    fclose(clear);
  }
  double t0 = now();
  CURLcode rc = curl_easy_perform(e);
  if (close(s.fd) != 0) s.failed = 1;
  double dt = now() - t0;
  long code = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
  if (rc != CURLE_OK || code != 200 || s.failed) {
    fprintf(stderr, "c_download: %s (HTTP %ld)\n", curl_easy_strerror(rc), code);
    return 1;
  }
  printf("seconds=%.4f bytes=%zu rss_start_kb=%ld rss_peak_kb=%ld\n", dt, s.written, rss_start, status_kb("VmHWM"));
  curl_easy_cleanup(e);
  curl_global_cleanup();
  return 0;
}
