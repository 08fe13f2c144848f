/*
 * interrupt.c - Ctrl-C (SIGINT) during the SDK's sleeps and file transfers.
 *
 * The standalone `lua` and `luajit` interpreters catch SIGINT with a handler
 * that only sets a Lua hook; the "interrupted!" error comes at the next Lua
 * instruction. While C sleeps (nanosleep) or libcurl transfers, that is
 * never, or only once a 1 GiB download has finished. So for the length of a
 * sleep or a transfer SIGINT is blocked in this thread and watched instead:
 * a sleep waits for it (sigtimedwait), a transfer polls for it (sigpending,
 * from libcurl's progress callback) and aborts. Either way the pending SIGINT
 * is consumed, the mask restored, and the caller told; the Lua layer turns it
 * into kind = "cancelled" (wait, run, download) or the usual "interrupted!"
 * error (anything else). Nothing is global: the saved mask lives in the
 * caller's guard.
 *
 * Only a SIGINT that has a handler is guarded. Ignored (SIG_IGN) stays
 * ignored, and the default action (SIG_DFL: the process ends at once, as
 * the embedding program chose) is left alone.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include "scravio.h"

void scv_sigint_begin(scv_sigint_guard *g) {
  struct sigaction sa;
  memset(g, 0, sizeof *g);
  if (sigaction(SIGINT, NULL, &sa) != 0) return;
  if (!(sa.sa_flags & SA_SIGINFO) && (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)) return;
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &block, &g->saved) != 0) return;
  /* Already blocked by the program: it handles SIGINT its own way. */
  g->active = !sigismember(&g->saved, SIGINT);
  if (!g->active) pthread_sigmask(SIG_SETMASK, &g->saved, NULL);
}

int scv_sigint_pending(const scv_sigint_guard *g) {
  sigset_t p;
  return g->active && sigpending(&p) == 0 && sigismember(&p, SIGINT);
}

int scv_sigint_end(scv_sigint_guard *g) {
  if (!g->active) return 0;
  int got = 0;
  if (scv_sigint_pending(g)) {
    sigset_t only;
    struct timespec zero = {0, 0};
    sigemptyset(&only);
    sigaddset(&only, SIGINT);
    got = sigtimedwait(&only, NULL, &zero) == SIGINT; /* consumed: the interpreter's hook never fires */
  }
  pthread_sigmask(SIG_SETMASK, &g->saved, NULL);
  g->active = 0;
  return got;
}

int scv_sigint_sleep(double seconds) {
  scv_sigint_guard g;
  scv_sigint_begin(&g);
  struct timespec ts;
  ts.tv_sec = (time_t)seconds;
  ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
  if (!g.active) {
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return 0;
  }
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, SIGINT);
  int got = 0;
  for (;;) {
    int s = sigtimedwait(&only, NULL, &ts);
    if (s == SIGINT) {
      got = 1;
      break;
    }
    if (s < 0 && errno != EINTR) break; /* EAGAIN: the time is up */
    /* another signal's handler ran: sleep what is left */
    clock_gettime(CLOCK_MONOTONIC, &now);
    double left = seconds - ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9);
    if (left <= 0) break;
    ts.tv_sec = (time_t)left;
    ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
  }
  pthread_sigmask(SIG_SETMASK, &g.saved, NULL);
  return got;
}
