// libpng's simplified API (png_image_*), which reports errors in the struct instead of longjmp.
#include <png.h>
