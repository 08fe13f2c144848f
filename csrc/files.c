/*
 * files.c - the file system steps of a download that Lua's io library
 * cannot take: creating the temporary file with an exact mode, and putting
 * it in place without replacing a file the user did not ask to replace.
 *
 * Downloads hold personal data (leads), so a new file is 0600 unless the
 * caller asks otherwise, and a file downloaded over an existing one keeps
 * that file's mode. Both transports write into the file created here (they
 * open it with "wb", which keeps the mode), so the rule holds for both.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "scravio.h"

static int fail(lua_State *L, const char *what, const char *path, int en) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s %s: %s", what, path, strerror(en));
  lua_pushstring(L, en == EEXIST ? "exists" : "io");
  return 3;
}

/* core.create_file(path, mode[, like]) -> mode | nil, message, reason
 * Creates path (it must not exist) with exactly `mode` (the umask does not
 * apply), or with the mode of the existing regular file `like` when there
 * is one, plus write permission for its owner while it is written (the
 * transports reopen it by name: a 0400 file could not be written by its
 * owner); place_file sets the returned mode exactly before the file is put
 * in place. Returns the mode to set. */
static int l_create_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer mode = luaL_checkinteger(L, 2);
  const char *like = luaL_optstring(L, 3, NULL);
  struct stat st;
  if (like && stat(like, &st) == 0 && S_ISREG(st.st_mode)) mode = (lua_Integer)(st.st_mode & 07777);
  if (mode < 0 || mode > 07777) return luaL_error(L, "scravio: file mode out of range");
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail(L, "cannot create", path, errno);
  if (fchmod(fd, (mode_t)(mode | S_IWUSR)) != 0) {
    int en = errno;
    close(fd);
    unlink(path);
    return fail(L, "cannot set the mode of", path, en);
  }
  close(fd);
  lua_pushinteger(L, mode);
  return 1;
}

/* core.place_file(from, to, overwrite[, mode]) -> true | nil, message, reason
 * Moves the finished download into place, with exactly `mode` when given
 * (create_file's answer). Without overwrite an existing
 * `to` is never replaced, atomically (a hard link fails when `to` exists;
 * on file systems without hard links, a check just before the rename). The
 * reason is "exists" when that refused it. */
static int l_place_file(lua_State *L) {
  const char *from = luaL_checkstring(L, 1);
  const char *to = luaL_checkstring(L, 2);
  int overwrite = lua_toboolean(L, 3);
  if (!lua_isnoneornil(L, 4)) {
    lua_Integer mode = luaL_checkinteger(L, 4);
    if (mode < 0 || mode > 07777) return luaL_error(L, "scravio: file mode out of range");
    if (chmod(from, (mode_t)mode) != 0) return fail(L, "cannot set the mode of", from, errno);
  }
  if (!overwrite) {
    if (link(from, to) == 0) {
      unlink(from);
      lua_pushboolean(L, 1);
      return 1;
    }
    int en = errno;
    if (en == EEXIST) return fail(L, "refusing to replace", to, EEXIST);
    if (en != EPERM && en != ENOTSUP && en != EXDEV && en != EMLINK && en != ENOSYS)
      return fail(L, "cannot move the download to", to, en);
    struct stat st;
    if (lstat(to, &st) == 0) return fail(L, "refusing to replace", to, EEXIST);
  }
  if (rename(from, to) != 0) return fail(L, "cannot move the download to", to, errno);
  lua_pushboolean(L, 1);
  return 1;
}

void scv_files_open(lua_State *L) {
  static const luaL_Reg fns[] = {{"create_file", l_create_file}, {"place_file", l_place_file}, {NULL, NULL}};
  scv_setfuncs(L, fns, 0);
}
