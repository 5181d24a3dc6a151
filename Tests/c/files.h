/*
 * files.h: temporary folders and file checks for the C API tests that read and write datasets.
 *
 * Include after check.h, in a file that defines _XOPEN_SOURCE 700 before any system header (for mkdtemp
 * and nftw).
 */
#ifndef UNETSEG_TEST_FILES_H
#define UNETSEG_TEST_FILES_H

#include <dirent.h>
#include <stdint.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A new empty folder /tmp/unetseg-c-<what>-XXXXXX in `folder` (64 bytes), or exits. */
static inline void make_temporary_folder(char *folder, const char *what) {
    snprintf(folder, 64, "/tmp/unetseg-c-%s-XXXXXX", what);
    if (mkdtemp(folder) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
}

static inline int remove_entry(const char *path, const struct stat *info, int type, struct FTW *ftw) {
    (void)info; (void)type; (void)ftw;
    return remove(path);
}

/* Removes `path` and everything under it (links are removed, not followed). */
static inline int remove_tree(const char *path) {
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* `folder`/`name` into `path` (512 bytes). */
static inline const char *join(char *path, const char *folder, const char *name) {
    snprintf(path, 512, "%s/%s", folder, name);
    return path;
}

/* folder/PATIENT/PATIENT_N<suffix> (a kaggle_3m slice file: suffix ".tif" or "_mask.tif", or a prediction:
   "_pred.tif") into `path`
   (512 bytes). */
static inline const char *slice_file(char *path, const char *folder, const char *patient, int number,
                                     const char *suffix) {
    snprintf(path, 512, "%s/%s/%s_%d%s", folder, patient, patient, number, suffix);
    return path;
}

static inline int file_exists(const char *path) {
    struct stat info;
    return stat(path, &info) == 0;
}

static inline long file_size(const char *path) {
    struct stat info;
    return stat(path, &info) == 0 ? (long)info.st_size : -1;
}

/* Entries of a folder other than . and .. (-1 if it cannot be read). */
static inline int count_entries(const char *folder) {
    DIR *dir = opendir(folder);
    if (dir == NULL) return -1;
    int count = 0;
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;)
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) count++;
    closedir(dir);
    return count;
}

/* The whole content of a file, NUL-terminated (caller frees), or NULL. */
static inline char *read_file(const char *path, long *out_size) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) return NULL;
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    char *bytes = size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (bytes != NULL && fread(bytes, 1, (size_t)size, file) != (size_t)size) {
        free(bytes);
        bytes = NULL;
    }
    fclose(file);
    if (bytes != NULL) bytes[size] = '\0';
    if (out_size != NULL) *out_size = size;
    return bytes;
}

/* Whether two files have the same bytes. */
static inline int same_file_content(const char *a, const char *b) {
    long size_a = 0, size_b = 0;
    char *bytes_a = read_file(a, &size_a), *bytes_b = read_file(b, &size_b);
    int same = bytes_a != NULL && bytes_b != NULL && size_a == size_b && memcmp(bytes_a, bytes_b, (size_t)size_a) == 0;
    free(bytes_a);
    free(bytes_b);
    return same;
}

/* Copies a file; 1 on success. */
static inline int copy_file(const char *from, const char *to) {
    long size = 0;
    char *bytes = read_file(from, &size);
    FILE *file = bytes != NULL ? fopen(to, "wb") : NULL;
    int ok = file != NULL && fwrite(bytes, 1, (size_t)size, file) == (size_t)size;
    if (file != NULL) ok = fclose(file) == 0 && ok;
    free(bytes);
    return ok;
}

static uint64_t tree_digest_sum_;

static inline uint64_t fnv1a(const void *bytes, size_t count, uint64_t hash) {
    for (size_t i = 0; i < count; i++) hash = (hash ^ ((const unsigned char *)bytes)[i]) * 0x100000001b3ULL;
    return hash;
}

static inline int add_to_tree_digest(const char *path, const struct stat *info, int type, struct FTW *ftw) {
    (void)info; (void)ftw;
    if (type != FTW_F) return 0;
    long size = 0;
    char *bytes = read_file(path, &size);
    uint64_t hash = fnv1a(path, strlen(path), 0xcbf29ce484222325ULL);
    if (bytes != NULL) hash = fnv1a(bytes, (size_t)size, hash);
    free(bytes);
    tree_digest_sum_ += hash; /* a sum: independent of the walk's order */
    return 0;
}

/* A 64-bit digest of every file's path and bytes below `folder` (links followed), to show that a call left
   the folder untouched; 0 if it cannot be walked. */
static inline uint64_t tree_digest(const char *folder) {
    tree_digest_sum_ = 0;
    return nftw(folder, add_to_tree_digest, 16, 0) == 0 ? tree_digest_sum_ : 0;
}

/* The first entry of a folder whose name starts with `prefix` into `name` (64 bytes); 1 if found. The
   entries are compared by name, so that "first" does not depend on the file system's order. */
static inline int first_entry(const char *folder, const char *prefix, char *name) {
    DIR *dir = opendir(folder);
    if (dir == NULL) return 0;
    int found = 0;
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
        if (strncmp(entry->d_name, prefix, strlen(prefix)) != 0) continue;
        if (strlen(entry->d_name) >= 64) continue;
        if (!found || strcmp(entry->d_name, name) < 0) memcpy(name, entry->d_name, strlen(entry->d_name) + 1);
        found = 1;
    }
    closedir(dir);
    return found;
}

#endif
