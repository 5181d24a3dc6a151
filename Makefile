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
RAW_HEADER := $(CURDIR)/$(LIB_SCRATCH)/unetseg-swift.h
VERSION := $(shell sed -n 's/^let libraryVersion: StaticString = "\(.*\)"/\1/p' Sources/UNetSegC/Library.swift)

.PHONY: all setup build lib header check-header install python-package test test-swift test-c test-python bench clean

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
	UNETSEG_EMIT_HEADER=$(RAW_HEADER) $(SWIFT) build -c release -j $(JOBS) --scratch-path $(LIB_SCRATCH) \
	    --product unetseg -Xswiftc -static-stdlib \
	    -Xlinker --version-script=$(CURDIR)/scripts/libunetseg.map

## header: regenerate include/unetseg.h from the @c functions' declarations and doc comments
header: lib
	scripts/generate-header $(RAW_HEADER) include/unetseg.h

## check-header: fail if include/unetseg.h is not what the sources generate (CI)
check-header: header
	git diff --exit-code include/

## install: libunetseg.so, unetseg.h, unetseg_types.h and unetseg.pc under PREFIX (default /usr/local)
install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(LIB) $(DESTDIR)$(PREFIX)/lib/libunetseg.so
	install -m 644 include/unetseg.h include/unetseg_types.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' scripts/unetseg.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/unetseg.pc

## python-package: copy libunetseg.so into the Python package, so `pip install ./bindings/python` ships it
python-package: lib
	cp $(LIB) bindings/python/unetseg/libunetseg.so

## test: every test suite (Swift, then C, Python and R where present)
test: setup test-swift test-c test-python

test-swift:
	$(SWIFT) test -j $(JOBS)

## test-c: the C API tests (gcc -Werror, AddressSanitizer, exported symbols, env -i, install)
test-c: lib
	Tests/c/run-tests $(LIB) $(RAW_HEADER)

## test-python: the Python package's tests (pytest), including executing the example notebook
test-python: lib
	UNETSEG_LIB=$(CURDIR)/$(LIB) $(PYTHON) -m pytest -q bindings/python/tests

## bench: the benchmark tables (release build)
bench: build
	$(RELEASE)/unetseg bench ops

clean:
	rm -rf .build $(LIB_SCRATCH)
