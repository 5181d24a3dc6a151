// CBLAS declarations only (enums and prototypes, used to type the symbols looked up at run time).
// OpenBLAS is not linked: UNetTensor dlopen()s it after choosing its CPU core (see BLAS.swift).
#if __has_include(<openblas-pthread/cblas.h>)
#include <openblas-pthread/cblas.h>
#elif __has_include(<openblas/cblas.h>)
#include <openblas/cblas.h>
#else
#include <cblas.h>
#endif
