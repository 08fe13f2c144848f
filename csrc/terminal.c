/*
 * terminal.c - what the progress lines need to know about the terminal.
 */
#include <stdlib.h>
#include <sys/ioctl.h>
#include "scravio.h"

/* The terminal's width for a progress line: COLUMNS when set, else what
 * the terminal on stderr says, else 80. */
int scv_terminal_columns(void) {
  const char *env = getenv("COLUMNS");
  int n = env ? atoi(env) : 0;
  if (n >= 20 && n <= 1000) return n;
  struct winsize ws;
  if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
  return 80;
}
