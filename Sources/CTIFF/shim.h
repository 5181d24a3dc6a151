#ifndef UNETSEG_CTIFF_SHIM_H
#define UNETSEG_CTIFF_SHIM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <tiffio.h>

/* Small helpers for what Swift cannot do with libtiff directly: variadic calls (TIFFGetField/TIFFSetField)
 * and va_list formatting in the per-file error/warning handlers of libtiff 4.5 (TIFFOpenOptions). */

/* The messages libtiff reported for one open file, as bounded NUL-terminated text ("module: text; ...").
 * Passed as the handlers' user data, so that each file (and thread) collects its own messages. */
typedef struct {
    char text[2048];
    size_t length; /* bytes used in text, excluding the NUL */
    int errorCount;
    int warningCount;
} CTIFFMessages;

static inline void ctiff_messages_append(CTIFFMessages *messages, const char *prefix, const char *module,
                                         const char *format, va_list arguments) {
    size_t capacity = sizeof(messages->text);
    if (messages->length + 1 >= capacity) return;
    char *end = messages->text + messages->length;
    size_t left = capacity - messages->length;
    int written = snprintf(end, left, "%s%s%s%s", messages->length > 0 ? "; " : "", prefix,
                           module != NULL ? module : "", module != NULL ? ": " : "");
    if (written < 0) return;
    messages->length += (size_t)written < left ? (size_t)written : left - 1;
    end = messages->text + messages->length;
    left = capacity - messages->length;
    if (left > 1) {
        written = vsnprintf(end, left, format, arguments);
        if (written > 0) messages->length += (size_t)written < left ? (size_t)written : left - 1;
    }
    messages->text[messages->length] = '\0';
}

/* TIFFErrorHandlerExtR: records the error; returning 1 stops libtiff from calling its global handlers. */
static inline int ctiff_capture_error(TIFF *tif, void *userData, const char *module, const char *format,
                                      va_list arguments) {
    (void)tif;
    CTIFFMessages *messages = (CTIFFMessages *)userData;
    if (messages != NULL) {
        messages->errorCount += 1;
        ctiff_messages_append(messages, "", module, format, arguments);
    }
    return 1;
}

/* TIFFErrorHandlerExtR for warnings, recorded with a "warning: " prefix. */
static inline int ctiff_capture_warning(TIFF *tif, void *userData, const char *module, const char *format,
                                        va_list arguments) {
    (void)tif;
    CTIFFMessages *messages = (CTIFFMessages *)userData;
    if (messages != NULL) {
        messages->warningCount += 1;
        ctiff_messages_append(messages, "warning: ", module, format, arguments);
    }
    return 1;
}

/* Open options whose error and warning handlers write into `messages` (which must outlive the TIFF*),
 * with libtiff's own allocations capped at `maxSingleAllocation` bytes. Free with TIFFOpenOptionsFree
 * once the file is open (libtiff copies the handlers). NULL if allocation fails. */
static inline TIFFOpenOptions *ctiff_capturing_open_options(CTIFFMessages *messages,
                                                            tmsize_t maxSingleAllocation) {
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    if (options == NULL) return NULL;
    TIFFOpenOptionsSetErrorHandlerExtR(options, ctiff_capture_error, messages);
    TIFFOpenOptionsSetWarningHandlerExtR(options, ctiff_capture_warning, messages);
    TIFFOpenOptionsSetMaxSingleMemAlloc(options, maxSingleAllocation);
    return options;
}

/* Removes libtiff's process-wide handlers (which print to stderr by default). */
static inline void ctiff_silence_global_handlers(void) {
    TIFFSetErrorHandler(NULL);
    TIFFSetWarningHandler(NULL);
    TIFFSetErrorHandlerExt(NULL);
    TIFFSetWarningHandlerExt(NULL);
}

/* TIFFGetFieldDefaulted for a tag holding one uint16 value; 1 on success. */
static inline int ctiff_get_uint16(TIFF *tif, uint32_t tag, uint16_t *value) {
    return TIFFGetFieldDefaulted(tif, tag, value);
}

/* TIFFGetFieldDefaulted for a tag holding one uint32 value; 1 on success. */
static inline int ctiff_get_uint32(TIFF *tif, uint32_t tag, uint32_t *value) {
    return TIFFGetFieldDefaulted(tif, tag, value);
}

/* TIFFGetField for Photometric, which has no default; 0 when the tag is absent. */
static inline int ctiff_get_photometric(TIFF *tif, uint16_t *value) {
    return TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, value);
}

/* The three colormap arrays (1 << BitsPerSample entries each); 0 when absent. */
static inline int ctiff_get_colormap(TIFF *tif, const uint16_t **red, const uint16_t **green,
                                     const uint16_t **blue) {
    uint16_t *r = NULL, *g = NULL, *b = NULL;
    int found = TIFFGetField(tif, TIFFTAG_COLORMAP, &r, &g, &b);
    *red = r;
    *green = g;
    *blue = b;
    return found && r != NULL && g != NULL && b != NULL;
}

/* TIFFSetField for a tag of type SHORT (passed as int, as libtiff's va_arg expects); 1 on success. */
static inline int ctiff_set_uint16(TIFF *tif, uint32_t tag, uint16_t value) {
    return TIFFSetField(tif, tag, (int)value);
}

/* TIFFSetField for a tag of type LONG; 1 on success. */
static inline int ctiff_set_uint32(TIFF *tif, uint32_t tag, uint32_t value) {
    return TIFFSetField(tif, tag, value);
}

#endif
