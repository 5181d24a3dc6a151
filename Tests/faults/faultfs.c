/* faultfs: a fault-injection library for the fault tests, loaded with LD_PRELOAD into the `unetseg` CLI or
 * a test program. It wraps the libc calls unetseg writes and reads files with (open/openat/creat, write,
 * pwrite, writev, fsync, fdatasync, close, rename, unlink, mkdir, link, symlink) and, for paths inside one
 * folder, makes them fail the way a full or read-only disk does, or kills the process at a chosen moment.
 *
 * Environment (nothing happens unless FAULTFS_DIR and FAULTFS_MODE are set):
 *   FAULTFS_DIR    absolute path of the folder the faults apply to (files anywhere below it)
 *   FAULTFS_MODE   erofs   every change below the folder (open for writing, creating, renaming, removing,
 *                          making folders or links) fails with EROFS, as on a read-only mount
 *                  eacces  the same with EACCES, as in a folder without write permission
 *                  enospc  files opened for writing below the folder take FAULTFS_COUNT bytes in all;
 *                          past that, write() stores what fits and then fails with ENOSPC (a full disk)
 *                  kill    the FAULTFS_COUNT-th event below the folder (counted from 1: an open for writing,
 *                          write, fsync, rename, unlink, mkdir, or an open of a ".tif" file for reading) does
 *                          not happen: the process gets SIGKILL instead. With FAULTFS_MATCH set, only opens,
 *                          renames and removals of paths containing that text count. With FAULTFS_COUNT=0
 *                          nothing is killed and the number of events is reported at exit ("events N")
 *                  unlink-read, truncate-read
 *                          the FAULTFS_COUNT-th open for reading of a ".tif" file below the folder first
 *                          deletes that file, or truncates it to half its size (a file vanishing or
 *                          shrinking while a run reads it)
 *   FAULTFS_REPORT optional file the library appends one line to when it acts: the path it acted on
 *                  (or "killed at <call> <path>")
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum mode { MODE_OFF, MODE_EROFS, MODE_EACCES, MODE_ENOSPC, MODE_KILL, MODE_UNLINK_READ, MODE_TRUNCATE_READ };

#define TRACKED_FDS 4096

static enum mode faultMode = MODE_OFF;
static char faultDir[PATH_MAX];
static size_t faultDirLength;
static const char *faultMatch;          /* kill: only paths containing this count (NULL: every event) */
static long long faultCount;            /* byte budget (enospc) or 1-based event number (kill, *-read) */
static long long eventsSoFar;           /* changes (kill) or .tif opens for reading (*-read) */
static long long bytesWritten;          /* enospc */
static unsigned char trackedFD[TRACKED_FDS];   /* 1: opened for writing below the folder */
static int initialised;

static void initialise(void) {
    if (__atomic_load_n(&initialised, __ATOMIC_ACQUIRE)) return;
    const char *dir = getenv("FAULTFS_DIR"), *mode = getenv("FAULTFS_MODE"), *count = getenv("FAULTFS_COUNT");
    if (dir && mode && dir[0] == '/' && strlen(dir) < sizeof faultDir) {
        strcpy(faultDir, dir);
        faultDirLength = strlen(faultDir);
        while (faultDirLength > 1 && faultDir[faultDirLength - 1] == '/') faultDir[--faultDirLength] = 0;
        faultCount = count ? atoll(count) : 0;
        faultMatch = getenv("FAULTFS_MATCH");
        if (!strcmp(mode, "erofs")) faultMode = MODE_EROFS;
        else if (!strcmp(mode, "eacces")) faultMode = MODE_EACCES;
        else if (!strcmp(mode, "enospc")) faultMode = MODE_ENOSPC;
        else if (!strcmp(mode, "kill")) faultMode = MODE_KILL;
        else if (!strcmp(mode, "unlink-read")) faultMode = MODE_UNLINK_READ;
        else if (!strcmp(mode, "truncate-read")) faultMode = MODE_TRUNCATE_READ;
    }
    __atomic_store_n(&initialised, 1, __ATOMIC_RELEASE);
}

static void *real(const char *name) { return dlsym(RTLD_NEXT, name); }

/* Whether `path` (relative to `dirfd`, or to the working folder for AT_FDCWD) lies below FAULTFS_DIR. */
static int inside(int dirfd, const char *path) {
    initialise();
    if (faultMode == MODE_OFF || !path) return 0;
    char absolute[2 * PATH_MAX];
    if (path[0] == '/') {
        snprintf(absolute, sizeof absolute, "%s", path);
    } else {
        char base[PATH_MAX];
        if (dirfd == AT_FDCWD) {
            if (!getcwd(base, sizeof base)) return 0;
        } else {
            char link[64];
            snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
            ssize_t n = readlink(link, base, sizeof base - 1);
            if (n < 0) return 0;
            base[n] = 0;
        }
        snprintf(absolute, sizeof absolute, "%s/%s", base, path);
    }
    return strncmp(absolute, faultDir, faultDirLength) == 0
        && (absolute[faultDirLength] == '/' || absolute[faultDirLength] == 0);
}

static void report(const char *what, const char *path) {
    const char *file = getenv("FAULTFS_REPORT");
    if (!file) return;
    int (*realOpen)(const char *, int, ...) = real("open");
    ssize_t (*realWrite)(int, const void *, size_t) = real("write");
    int fd = realOpen(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    char line[2 * PATH_MAX];
    int n = snprintf(line, sizeof line, "%s%s%s\n", what, *what ? " " : "", path);
    if (n > 0) realWrite(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    close(fd);
}

/* For erofs/eacces: the errno a change below the folder fails with (0: allowed). For kill: counts the
 * change and dies at the chosen one. */
static int refuseChange(const char *call, int inFolder, const char *path) {
    if (!inFolder) return 0;
    if (faultMode == MODE_EROFS) return EROFS;
    if (faultMode == MODE_EACCES) return EACCES;
    if (faultMode == MODE_KILL && faultMatch && !(path && *path && strstr(path, faultMatch))) return 0;
    if (faultMode == MODE_KILL && __atomic_add_fetch(&eventsSoFar, 1, __ATOMIC_SEQ_CST) == faultCount) {
        report(call, path ? path : "");
        kill(getpid(), SIGKILL);
    }
    return 0;
}

/* kill with FAULTFS_COUNT=0: the number of events, for the tests to choose moments from. */
__attribute__((destructor)) static void reportEventCount(void) {
    if (faultMode != MODE_KILL || faultCount != 0) return;
    char count[32];
    snprintf(count, sizeof count, "%lld", __atomic_load_n(&eventsSoFar, __ATOMIC_SEQ_CST));
    report("events", count);
}

static int isTracked(int fd) { return fd >= 0 && fd < TRACKED_FDS && trackedFD[fd]; }

static int endsWith(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* Every open goes through here: refuses or counts a change, acts on reads for *-read, tracks the fd. */
static int faultyOpen(int dirfd, const char *path, int flags, mode_t mode) {
    static int (*realOpenat)(int, const char *, int, ...);
    if (!realOpenat) realOpenat = real("openat");
    int writing = (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
    int in = inside(dirfd, path);
    if (writing) {
        int refused = refuseChange("open", in, path);
        if (refused) { errno = refused; return -1; }
    } else if (in && faultMode == MODE_KILL && endsWith(path, ".tif")) {
        refuseChange("open", 1, path);
    } else if (in && (faultMode == MODE_UNLINK_READ || faultMode == MODE_TRUNCATE_READ) && endsWith(path, ".tif")
               && __atomic_add_fetch(&eventsSoFar, 1, __ATOMIC_SEQ_CST) == faultCount) {
        if (faultMode == MODE_UNLINK_READ) {
            unlinkat(dirfd, path, 0);
        } else {
            struct stat info;
            if (fstatat(dirfd, path, &info, 0) == 0) {
                int fd = realOpenat(dirfd, path, O_WRONLY | O_CLOEXEC);
                if (fd >= 0) { (void)ftruncate(fd, info.st_size / 2); close(fd); }
            }
        }
        report("", path);
    }
    int fd = realOpenat(dirfd, path, flags, mode);
    if (fd >= 0 && fd < TRACKED_FDS) trackedFD[fd] = (unsigned char)(writing && in);
    return fd;
}

static mode_t modeArgument(int flags, va_list arguments) {
    return (flags & (O_CREAT | __O_TMPFILE)) ? (mode_t)va_arg(arguments, int) : 0;
}

int open(const char *path, int flags, ...) {
    va_list a; va_start(a, flags); mode_t m = modeArgument(flags, a); va_end(a);
    return faultyOpen(AT_FDCWD, path, flags, m);
}
int open64(const char *path, int flags, ...) {
    va_list a; va_start(a, flags); mode_t m = modeArgument(flags, a); va_end(a);
    return faultyOpen(AT_FDCWD, path, flags, m);
}
int openat(int dirfd, const char *path, int flags, ...) {
    va_list a; va_start(a, flags); mode_t m = modeArgument(flags, a); va_end(a);
    return faultyOpen(dirfd, path, flags, m);
}
int openat64(int dirfd, const char *path, int flags, ...) {
    va_list a; va_start(a, flags); mode_t m = modeArgument(flags, a); va_end(a);
    return faultyOpen(dirfd, path, flags, m);
}
int __open_2(const char *path, int flags) { return faultyOpen(AT_FDCWD, path, flags, 0); }
int __open64_2(const char *path, int flags) { return faultyOpen(AT_FDCWD, path, flags, 0); }
int creat(const char *path, mode_t mode) { return faultyOpen(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode); }
int creat64(const char *path, mode_t mode) { return creat(path, mode); }

/* How many of `count` bytes a write to `fd` may store (enospc), or -1 with errno set; counts kill events. */
static ssize_t allowedBytes(int fd, size_t count) {
    initialise();
    if (!isTracked(fd)) return (ssize_t)count;
    if (faultMode == MODE_KILL) { refuseChange("write", 1, ""); return (ssize_t)count; }
    if (faultMode != MODE_ENOSPC) return (ssize_t)count;
    long long before = __atomic_fetch_add(&bytesWritten, (long long)count, __ATOMIC_SEQ_CST);
    long long left = faultCount - before;
    if (left <= 0) {
        __atomic_fetch_sub(&bytesWritten, (long long)count, __ATOMIC_SEQ_CST);
        errno = ENOSPC;
        return -1;
    }
    if ((long long)count > left) {
        __atomic_fetch_sub(&bytesWritten, (long long)count - left, __ATOMIC_SEQ_CST);
        return (ssize_t)left;
    }
    return (ssize_t)count;
}

ssize_t write(int fd, const void *buffer, size_t count) {
    static ssize_t (*realWrite)(int, const void *, size_t);
    if (!realWrite) realWrite = real("write");
    ssize_t allowed = allowedBytes(fd, count);
    if (allowed < 0) return -1;
    return realWrite(fd, buffer, (size_t)allowed);
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
    static ssize_t (*realPwrite)(int, const void *, size_t, off_t);
    if (!realPwrite) realPwrite = real("pwrite");
    ssize_t allowed = allowedBytes(fd, count);
    if (allowed < 0) return -1;
    return realPwrite(fd, buffer, (size_t)allowed, offset);
}
ssize_t pwrite64(int fd, const void *buffer, size_t count, off_t offset) { return pwrite(fd, buffer, count, offset); }

ssize_t writev(int fd, const struct iovec *vectors, int n) {
    static ssize_t (*realWritev)(int, const struct iovec *, int);
    if (!realWritev) realWritev = real("writev");
    size_t total = 0;
    for (int i = 0; i < n; i++) total += vectors[i].iov_len;
    ssize_t allowed = allowedBytes(fd, total);
    if (allowed < 0) return -1;
    if ((size_t)allowed == total) return realWritev(fd, vectors, n);
    /* Store the part that fits, vector by vector. */
    ssize_t done = 0;
    for (int i = 0; i < n && done < allowed; i++) {
        size_t part = vectors[i].iov_len < (size_t)(allowed - done) ? vectors[i].iov_len : (size_t)(allowed - done);
        ssize_t w = write(fd, vectors[i].iov_base, part);
        if (w < 0) return done > 0 ? done : -1;
        done += w;
    }
    return done;
}

int fsync(int fd) {
    static int (*realFsync)(int);
    if (!realFsync) realFsync = real("fsync");
    initialise();
    if (isTracked(fd) && faultMode == MODE_KILL) refuseChange("fsync", 1, "");
    return realFsync(fd);
}
int fdatasync(int fd) {
    static int (*realFdatasync)(int);
    if (!realFdatasync) realFdatasync = real("fdatasync");
    initialise();
    if (isTracked(fd) && faultMode == MODE_KILL) refuseChange("fdatasync", 1, "");
    return realFdatasync(fd);
}

int close(int fd) {
    static int (*realClose)(int);
    if (!realClose) realClose = real("close");
    if (fd >= 0 && fd < TRACKED_FDS) trackedFD[fd] = 0;
    return realClose(fd);
}

/* Path changes: refused (erofs, eacces) or counted (kill) when either path lies below the folder. */
static int refusePaths(const char *call, int dirfd1, const char *from, int dirfd2, const char *to) {
    int in = inside(dirfd1, from) || (to && inside(dirfd2, to));
    int refused = refuseChange(call, in, to ? to : from);
    if (refused) errno = refused;
    return refused;
}

int rename(const char *from, const char *to) {
    static int (*realRename)(const char *, const char *);
    if (!realRename) realRename = real("rename");
    return refusePaths("rename", AT_FDCWD, from, AT_FDCWD, to) ? -1 : realRename(from, to);
}
int renameat(int fromFD, const char *from, int toFD, const char *to) {
    static int (*realRenameat)(int, const char *, int, const char *);
    if (!realRenameat) realRenameat = real("renameat");
    return refusePaths("rename", fromFD, from, toFD, to) ? -1 : realRenameat(fromFD, from, toFD, to);
}
int unlink(const char *path) {
    static int (*realUnlink)(const char *);
    if (!realUnlink) realUnlink = real("unlink");
    return refusePaths("unlink", AT_FDCWD, path, AT_FDCWD, NULL) ? -1 : realUnlink(path);
}
int unlinkat(int dirfd, const char *path, int flags) {
    static int (*realUnlinkat)(int, const char *, int);
    if (!realUnlinkat) realUnlinkat = real("unlinkat");
    return refusePaths("unlink", dirfd, path, AT_FDCWD, NULL) ? -1 : realUnlinkat(dirfd, path, flags);
}
int rmdir(const char *path) {
    static int (*realRmdir)(const char *);
    if (!realRmdir) realRmdir = real("rmdir");
    return refusePaths("rmdir", AT_FDCWD, path, AT_FDCWD, NULL) ? -1 : realRmdir(path);
}
int mkdir(const char *path, mode_t mode) {
    static int (*realMkdir)(const char *, mode_t);
    if (!realMkdir) realMkdir = real("mkdir");
    struct stat info;
    if (stat(path, &info) == 0) return realMkdir(path, mode);   /* EEXIST first, as the kernel does */
    return refusePaths("mkdir", AT_FDCWD, path, AT_FDCWD, NULL) ? -1 : realMkdir(path, mode);
}
int symlink(const char *target, const char *path) {
    static int (*realSymlink)(const char *, const char *);
    if (!realSymlink) realSymlink = real("symlink");
    return refusePaths("symlink", AT_FDCWD, path, AT_FDCWD, NULL) ? -1 : realSymlink(target, path);
}
int link(const char *from, const char *to) {
    static int (*realLink)(const char *, const char *);
    if (!realLink) realLink = real("link");
    return refusePaths("link", AT_FDCWD, to, AT_FDCWD, NULL) ? -1 : realLink(from, to);
}
