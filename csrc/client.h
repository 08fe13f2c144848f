/* client.h - the Client userdata, shared by client.c and transport.c only. */
#ifndef SCV_CLIENT_H
#define SCV_CLIENT_H

#include "scravio.h"

struct scv_client {
  int closed;
  char *base_url;         /* without a trailing slash */
  char *auth_header;      /* "X-API-Key: ..." or "Authorization: Bearer ..." (the secret) */
  char *workspace_header; /* "X-Workspace-Id: ..." or NULL */
  char *user_agent;
  char *ca_file, *proxy;
  char key_hint[48];      /* masked form shown by tostring */
  const char *auth_kind;  /* "api_key" or "access_token" */
  long timeout_ms, connect_timeout_ms;
  size_t max_response_bytes;
  int allow_http;
  int head_taken;         /* api_head_builder was handed out (once per client) */
  CURL *easy;             /* one handle, so connections are kept alive across calls */
  struct curl_slist *api_headers;      /* auth, workspace, accept */
  struct curl_slist *api_json_headers; /* the same plus Content-Type: application/json */
  struct curl_slist *storage_headers;  /* no credentials at all */
  scv_buf body;           /* last response body, reused between calls */
  uint64_t taken_body_hash; /* body_hash of the last body a LazyPage took (l_prefetch) */
  scv_buf hdr;            /* last response's header block */
  scv_buf scratch;        /* URL building */
  struct scv_prefetch *pf; /* the list-page prefetch handle (transport.c), made on first use */
  char errbuf[CURL_ERROR_SIZE];
};

scv_client *scv_check_client(lua_State *L, int idx);
/* Is url under the client's base URL (the only place its credential goes)? */
int scv_client_api_url(const scv_client *c, const char *url);
/* May a URL the server hands us (storage, a storage redirect) be fetched?
 * https always, http only to loopback unless allow_http. */
int scv_client_allows_url(const scv_client *c, const char *url, size_t n);
#define SCV_URL_REFUSED "refusing a non-https URL to a non-loopback host (set allow_http to permit)"
typedef struct scv_prefetch scv_prefetch;
/* Set the options that stay the same for every transfer of this client. */
void scv_transport_init(scv_client *c);
/* Drop the prefetch handle and whatever it has in flight (client_release). */
void scv_prefetch_free(scv_client *c);

#endif
