// Cairo's image surfaces, drawing, toy text API and PNG stream output.
#include <cairo.h>
