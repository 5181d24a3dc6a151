// swift-tools-version: 6.1
//
// unetseg: the U-Net of "Brain image segmentation with torch", natively in Swift.
// Layers import only to the left: _UNetSupport, COwnBLAS, CTIFF, CCairo → UNetTensor → UNetNN, UNetData → UNetTrain
// → UNetSegC, CLI. Each target lists every module it imports.

import Foundation
import PackageDescription

// `scripts/generate-header` sets UNETSEG_EMIT_HEADER to a path: the compiler then writes the C declarations
// of the `@c` functions there, which become include/unetseg.h. Ordinary builds do not set it.
let cHeaderSettings: [SwiftSetting] = Context.environment["UNETSEG_EMIT_HEADER"].map {
    [.unsafeFlags(["-emit-clang-header-path", $0])]
} ?? []

// `make fuzz` sets UNETSEG_FUZZ=1 (with --sanitize=fuzzer): `unetseg-fuzz` then exports
// LLVMFuzzerTestOneInput for libFuzzer's main instead of its own main, which replays corpus files.
let fuzzSettings: [SwiftSetting] = Context.environment["UNETSEG_FUZZ"] == nil ? [] : [.define("UNETSEG_FUZZING")]

// The library's own OpenBLAS: Debian's static libopenblas.a (package libopenblas-dev) linked in, its symbols
// private (scripts/libunetseg.map exports only unetseg_*), with every getenv call of the linked objects
// routed through Sources/COwnBLAS/core_choice.c, which chooses its kernels. See README "Engine notes".
let openBLASFolder = ["/usr/lib/x86_64-linux-gnu/openblas-pthread", "/usr/lib/aarch64-linux-gnu/openblas-pthread"]
    .first { FileManager.default.fileExists(atPath: $0 + "/libopenblas.a") }
    ?? "/usr/lib/x86_64-linux-gnu/openblas-pthread"
let ownOpenBLASLinkerFlags = ["-L" + openBLASFolder, "-Xlinker", "-l:libopenblas.a", "-Xlinker", "--wrap=getenv"]

let package = Package(
    name: "unetseg",
    products: [
        // MARK: - Public API
        .library(name: "unetseg", type: .dynamic, targets: ["UNetSegC"]),
        // The CLI: SwiftPM products need distinct names, so the binary is `unetseg-cli`; `make build` links
        // it as `unetseg` beside it and `make install` installs it as `unetseg`.
        .executable(name: "unetseg-cli", targets: ["unetseg-cli"]),
    ],
    dependencies: [
        // The CLI only; the library has no package dependencies.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: - System libraries
        // The C API's hand-written types (include/unetseg_types.h); headers only, links nothing.
        .systemLibrary(name: "CUNetSegTypes", path: "Sources/CUNetSegTypes"),
        .systemLibrary(
            name: "CTIFF", path: "Sources/CTIFF", pkgConfig: "libtiff-4",
            providers: [.apt(["libtiff-dev"])]),
        // 2-D drawing for the pictures (anti-aliased lines, text, PNG output).
        .systemLibrary(
            name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo",
            providers: [.apt(["libcairo2-dev"])]),

        // MARK: - Library layers
        // The CPU report and the kernel choice of the library's own OpenBLAS instance, which it links.
        // DWARF 4: valgrind 3.19 cannot read clang's default DWARF 5 and would give up on the whole library.
        .target(name: "COwnBLAS", cSettings: [.unsafeFlags(["-gdwarf-4"])],
                linkerSettings: [.unsafeFlags(ownOpenBLASLinkerFlags), .linkedLibrary("m")]),
        // Plumbing below the engine: the error type, JSON, the file layer, locks, the memory budget, clocks.
        .target(name: "_UNetSupport", path: "Sources/_UNetSupport"),
        .target(name: "UNetTensor", dependencies: ["_UNetSupport", "COwnBLAS"]),
        .target(name: "UNetNN", dependencies: ["_UNetSupport", "UNetTensor"]),
        .target(name: "UNetData", dependencies: ["_UNetSupport", "UNetTensor", "CTIFF"]),
        .target(name: "UNetTrain", dependencies: ["_UNetSupport", "UNetTensor", "UNetNN", "UNetData", "CCairo"]),
        .target(name: "UNetSegC",
                dependencies: ["_UNetSupport", "UNetTensor", "UNetNN", "UNetData", "UNetTrain", "CUNetSegTypes"],
                swiftSettings: cHeaderSettings),
        .executableTarget(
            name: "unetseg-cli",
            dependencies: ["_UNetSupport", "UNetTensor", "UNetNN", "UNetData", "UNetTrain",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // MARK: - Implementation details
        // Fuzz targets over the file readers and the C API (`make fuzz`; `make test` replays their corpora).
        .executableTarget(name: "unetseg-fuzz",
                          dependencies: ["_UNetSupport", "UNetTensor", "UNetNN", "UNetData", "UNetTrain", "UNetSegC",
                                         "CUNetSegTypes"],
                          swiftSettings: fuzzSettings),
        .target(name: "_TestSupport", dependencies: ["_UNetSupport", "UNetTensor", "UNetData"], path: "Sources/_TestSupport"),

        // MARK: - Tests
        .testTarget(name: "UNetTensorTests", dependencies: ["_UNetSupport", "UNetTensor", "COwnBLAS", "_TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "UNetNNTests", dependencies: ["_UNetSupport", "UNetTensor", "UNetNN"]),
        .testTarget(name: "UNetTrainTests",
                    dependencies: ["_UNetSupport", "UNetTensor", "UNetNN", "UNetData", "UNetTrain", "_TestSupport",
                                   "CCairo"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "UNetDataTests", dependencies: ["_UNetSupport", "UNetTensor", "UNetData", "_TestSupport"]),
        .testTarget(name: "UNetSupportTests", dependencies: ["_UNetSupport", "UNetTensor", "UNetData", "_TestSupport"]),
        .testTarget(name: "UNetSegCTests",
                    dependencies: ["_UNetSupport", "UNetTensor", "UNetSegC", "CUNetSegTypes", "_TestSupport"]),
    ]
)
