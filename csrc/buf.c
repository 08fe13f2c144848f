/* buf.c - a growable byte buffer that owns its memory (freed by its owner). */
#include <stdlib.h>
#include <string.h>
#include "scravio.h"

void scv_buf_init(scv_buf *b) {
  b->data = NULL;
  b->len = b->cap = 0;
}

void scv_buf_free(scv_buf *b) {
  free(b->data);
  scv_buf_init(b);
}

int scv_buf_reserve(scv_buf *b, size_t extra) {
  if (extra > ((size_t)-1) / 2 - b->len) return -1;
  size_t need = b->len + extra + 1; /* +1: room for a trailing NUL */
  if (need <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) cap *= 2;
  char *p = realloc(b->data, cap);
  if (p == NULL) return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

int scv_buf_add(scv_buf *b, const char *s, size_t n) {
  if (scv_buf_reserve(b, n) != 0) return -1;
  if (n) memcpy(b->data + b->len, s, n);
  b->len += n;
  return 0;
}

int scv_buf_adds(scv_buf *b, const char *s) { return scv_buf_add(b, s, strlen(s)); }

int scv_buf_addc(scv_buf *b, char c) {
  if (scv_buf_reserve(b, 1) != 0) return -1;
  b->data[b->len++] = c;
  return 0;
}

int scv_buf_nul(scv_buf *b) {
  if (scv_buf_reserve(b, 0) != 0) return -1;
  b->data[b->len] = '\0';
  return 0;
}
