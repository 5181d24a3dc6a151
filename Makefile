# unetseg: build, test and benchmark. `make test` and `make demo` include the set-up.

SWIFT ?= swift
RELEASE := .build/release
JOBS ?= 2
PREFIX ?= /usr/local
PYTHON ?= python3

# The installable libunetseg.so: a release build in its own scratch folder with the Swift runtime linked
# in statically (-static-stdlib for this build only: in linkerSettings it would break `swift test`) and
# only the unetseg_* symbols exported. The compiler also writes the @c declarations for the header.
LIB_SCRATCH := .build-lib
LIB := $(LIB_SCRATCH)/release/libunetseg.so
LIB_CLI := $(LIB_SCRATCH)/release/unetseg-cli
RAW_HEADER := $(CURDIR)/$(LIB_SCRATCH)/unetseg-swift.h
LIB_BUILD := UNETSEG_EMIT_HEADER=$(RAW_HEADER) $(SWIFT) build -c release -j $(JOBS) --scratch-path $(LIB_SCRATCH) \
    -Xswiftc -static-stdlib -Xlinker --version-script=$(CURDIR)/scripts/libunetseg.map
VERSION := $(shell sed -n 's/^let libraryVersion: StaticString = "\(.*\)"/\1/p' Sources/UNetSegC/Library.swift)

.PHONY: all setup build lib lib-cli header check-header install python-package system-info test test-swift test-cli \
    test-c test-python test-r test-mpi test-sanitize test-fuzz-corpus test-faults fuzz r-package examples-c bench demo clean

all: build

## setup: install missing system and Python packages (Debian 12)
setup:
	@scripts/setup

## build: release build of libunetseg.so and the `unetseg` CLI
build: setup
	$(SWIFT) build -c release -j $(JOBS)
	@ln -sf unetseg-cli $(RELEASE)/unetseg

## lib: the self-contained libunetseg.so (loads without a Swift toolchain) in .build-lib/release
lib: setup
	$(LIB_BUILD) --product unetseg

## lib-cli: the `unetseg` CLI built beside the library (same scratch folder and flags: nothing is compiled
## twice), for the C tests that compare a training run through the C API with one through the CLI
lib-cli: lib
	$(LIB_BUILD) --product unetseg-cli

## header: regenerate include/unetseg.h (the public C API) and bindings/R/unetseg_r.h (the R bridge's
## unetseg_r_* functions, never installed) from the @c functions' declarations and doc comments
R_HEADER := bindings/R/unetseg_r.h
header: lib
	scripts/generate-header $(RAW_HEADER) include/unetseg.h $(R_HEADER)

## check-header: fail if include/unetseg.h or bindings/R/unetseg_r.h is not what the sources generate (CI)
check-header: header
	git diff --exit-code include/ $(R_HEADER)

## install: libunetseg.so, unetseg.h, unetseg_types.h and unetseg.pc under PREFIX (default /usr/local); not
## the R bridge's unetseg_r.h, which is no part of the C API
install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(LIB) $(DESTDIR)$(PREFIX)/lib/libunetseg.so
	install -m 644 include/unetseg.h include/unetseg_types.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' scripts/unetseg.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/unetseg.pc

## python-package: copy libunetseg.so into the Python package, so `pip install ./bindings/python` ships it
python-package: lib
	cp $(LIB) bindings/python/unetseg/libunetseg.so

## system-info: the CPU, its SIMD level and the kernels of the library's own OpenBLAS (make test prints it
## first, so that a failure on another machine can be read from its log)
system-info: lib-cli
	@$(LIB_CLI) info

## test: every test suite (Swift, Swift under AddressSanitizer and ThreadSanitizer, the fuzz corpora, then
## CLI, fault injection, distributed training on Open MPI, C, Python and R)
test: setup system-info test-swift test-sanitize test-fuzz-corpus test-cli test-faults test-mpi test-c test-python test-r

test-swift:
	$(SWIFT) test -j $(JOBS)

## test-sanitize: the Swift test suites under AddressSanitizer with leak detection, then under
## ThreadSanitizer (stopping at its first report), each in its own build folder. (The library's locks are
## pthread mutexes, which ThreadSanitizer sees: see Sources/UNetTensor/PthreadMutex.swift.)
test-sanitize: setup
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/sanitizers/lsan.supp \
	    $(SWIFT) test -j $(JOBS) --scratch-path .build-asan --sanitize=address
	TSAN_OPTIONS=halt_on_error=1 \
	    $(SWIFT) test -j $(JOBS) --scratch-path .build-tsan --sanitize=thread

## test-fuzz-corpus: every committed fuzz input (seeds and regressions, Tests/fuzz/corpus/<target>/)
## replayed through the fuzz targets, without libFuzzer, under AddressSanitizer (test-sanitize's build
## folder): no crash, no memory error, and every promise the targets check holds
test-fuzz-corpus: setup
	$(SWIFT) build -j $(JOBS) --scratch-path .build-asan --sanitize=address --product unetseg-fuzz
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/sanitizers/lsan.supp \
	    .build-asan/debug/unetseg-fuzz replay Tests/fuzz/corpus

## fuzz: each libFuzzer target for FUZZ_SECONDS seconds (default 60) under AddressSanitizer, from the
## committed seeds; findings go to .build-fuzz/campaign/crashes/<target>/ (see scripts/fuzz)
FUZZ_SECONDS ?= 60
fuzz: setup
	FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) SWIFT=$(SWIFT) scripts/fuzz

## test-cli: the `unetseg` command end to end on tiny synthetic data, and its error messages
test-cli: lib-cli
	Tests/cli/run-tests $(LIB_CLI)

## test-faults: the CLI on a tiny run with faults injected by Tests/faults/faultfs.c (LD_PRELOAD, no mount
## or root needed): a full disk while writing checkpoints and predictions, read-only and unwritable folders,
## kill -9 at seeded moments then --resume, slice files deleted or truncated mid-epoch, an absurd model
FAULTFS := $(LIB_SCRATCH)/faultfs.so
$(FAULTFS): Tests/faults/faultfs.c
	mkdir -p $(LIB_SCRATCH)
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O1 -shared -fPIC $< -o $@ -ldl
test-faults: lib-cli $(FAULTFS)
	Tests/faults/run-tests $(LIB_CLI) $(FAULTFS)

## test-mpi: `mpirun --oversubscribe -np 2 unetseg train` on tiny synthetic data (loopback only): the same
## losses as one process, identical weights on both ranks, kill of a rank then --resume, a rank that cannot
## read a file, and the same run from Python and R; skipped, saying so, when mpirun is not installed
## (scripts/setup installs Open MPI)
test-mpi: r-package lib-cli
	Tests/mpi/run-tests $(LIB_CLI) $(LIB) $(R_LIBRARY)

## test-c: the C API tests (gcc -Werror, AddressSanitizer, exported symbols, env -i, install)
test-c: lib lib-cli
	UNETSEG_CLI=$(LIB_CLI) Tests/c/run-tests $(LIB) $(RAW_HEADER)

## test-r: installs the R package into a temporary library and runs its testthat tests (with the example,
## run small, and a training run compared with the CLI's)
R_LIBRARY := $(LIB_SCRATCH)/R-library
R_TESTS := testthat::test_dir("bindings/R/unetseg/tests/testthat", package = "unetseg", load_package = "installed", \
    reporter = "check", stop_on_failure = TRUE)
test-r: r-package lib-cli
	R_LIBS=$(CURDIR)/$(R_LIBRARY) UNETSEG_LIB=$(CURDIR)/$(LIB) UNETSEG_CLI=$(CURDIR)/$(LIB_CLI) UNETSEG_REPO=$(CURDIR) \
	    Rscript -e '$(R_TESTS)'

## r-package: the R package installed into a temporary library (.build-lib/R-library) over .build-lib's
## libunetseg.so
r-package: lib
	rm -rf $(R_LIBRARY) && mkdir -p $(R_LIBRARY)
	R CMD INSTALL --no-multiarch -l $(R_LIBRARY) bindings/R/unetseg

## examples-c: builds examples/c/{train,predict}.c against .build-lib's library and runs them, with an
## empty environment, into .build-lib/examples (a tiny synthetic run; about a minute)
EXAMPLES := $(LIB_SCRATCH)/examples
EXAMPLE_FLAGS := -std=c11 -Wall -Wextra -Werror -Iinclude -L$(LIB_SCRATCH)/release \
    -Wl,-rpath,$(CURDIR)/$(LIB_SCRATCH)/release -lunetseg -lm
examples-c: lib
	mkdir -p $(EXAMPLES)
	$(CC) examples/c/train.c $(EXAMPLE_FLAGS) -o $(EXAMPLES)/train
	$(CC) examples/c/predict.c $(EXAMPLE_FLAGS) -o $(EXAMPLES)/predict
	rm -rf $(EXAMPLES)/run
	env -i $(EXAMPLES)/train $(EXAMPLES)/run
	env -i $(EXAMPLES)/predict $(EXAMPLES)/run/model_3.safetensors $(EXAMPLES)/run/split/valid $(EXAMPLES)/run/predicted

## test-python: the Python package's tests (pytest), including executing the example notebook and
## exchanging checkpoints with the CLI
test-python: lib lib-cli
	UNETSEG_LIB=$(CURDIR)/$(LIB) UNETSEG_CLI=$(CURDIR)/$(LIB_CLI) $(PYTHON) -m pytest -q bindings/python/tests

## bench: the benchmark tables (release build): ops, each convolution of the post's U-Net (algorithm and
## GFLOP/s of every pass), loader, a training step and an inference pass beside
## PyTorch and ONNX Runtime when they are installed (interleaved rounds, one run), and a training step inside
## an R session started with OPENBLAS_CORETYPE=Prescott against the CLI's, and the post's U-Net defined in
## Python (unetseg.nn) and in R (nn_module) against the built-in model (a training step each, interleaved),
## and a training step on 1 rank x 2 threads against 2 ranks x 1 thread under mpirun (scripts/bench-mpi)
bench: build r-package
	$(RELEASE)/unetseg bench ops
	$(RELEASE)/unetseg bench layers
	$(RELEASE)/unetseg bench loader
	scripts/bench-train $(RELEASE)/unetseg
	R_LIBS=$(CURDIR)/$(R_LIBRARY) UNETSEG_LIB=$(CURDIR)/$(LIB) scripts/bench-r-vs-cli $(RELEASE)/unetseg
	UNETSEG_LIB=$(CURDIR)/$(LIB) $(PYTHON) scripts/bench-python-module
	R_LIBS=$(CURDIR)/$(R_LIBRARY) UNETSEG_LIB=$(CURDIR)/$(LIB) scripts/bench-r-module
	scripts/bench-mpi $(RELEASE)/unetseg

## demo: synthetic data, split, training, evaluation and pictures in $(DEMO)/ (about 5 minutes on 2 cores)
DEMO ?= demo
UNETSEG := $(RELEASE)/unetseg
demo: build
	rm -rf $(DEMO)
	$(UNETSEG) synth --out $(DEMO)/data --patients 40 --size 128 --seed 1
	$(UNETSEG) split --data $(DEMO)/data --out $(DEMO)/split --valid 8 --seed 777
	$(UNETSEG) augmentation-grid --data $(DEMO)/split/valid --out $(DEMO)/augmentation.png
	@start=$$(date +%s); \
	$(UNETSEG) train --train $(DEMO)/split/train --valid $(DEMO)/split/valid --out $(DEMO)/run \
	    --epochs 3 --depth 5 --filters 3 --batch-size 8 --seed 777 && \
	echo "training took $$(( $$(date +%s) - start )) s" | tee $(DEMO)/training-time.txt
	$(UNETSEG) evaluate --model $(DEMO)/run/best.safetensors --data $(DEMO)/split/valid --out $(DEMO)/eval
	@echo; echo "demo done: metrics in $(DEMO)/eval/metrics.json; pictures: $(DEMO)/augmentation.png," \
	    "$(DEMO)/eval/predictions.png, $(DEMO)/eval/contours.png, $(DEMO)/eval/loss_curves.png," \
	    "$(DEMO)/eval/volume_dice.png, $(DEMO)/eval/overlays/<patient>.png"

clean:
	rm -rf .build $(LIB_SCRATCH) $(DEMO)
