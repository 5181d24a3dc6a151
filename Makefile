# unetseg: build, test and benchmark. `make test` and `make demo` include the set-up.

SWIFT ?= swift
RELEASE := .build/release
JOBS ?= 2

.PHONY: all setup build test test-swift bench clean

all: build

## setup: install missing system and Python packages (Debian 12)
setup:
	@scripts/setup

## build: release build of libunetseg.so and the `unetseg` CLI
build: setup
	$(SWIFT) build -c release -j $(JOBS)
	@ln -sf unetseg-cli $(RELEASE)/unetseg

## test: every test suite (Swift, then C, Python and R where present)
test: setup test-swift

test-swift:
	$(SWIFT) test -j $(JOBS)

## bench: the benchmark tables (release build)
bench: build
	$(RELEASE)/unetseg bench ops

clean:
	rm -rf .build
