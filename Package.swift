// swift-tools-version: 6.1
//
// unetseg: the U-Net of "Brain image segmentation with torch", natively in Swift.
// Layers import only to the left: CTIFF, CBLAS → UNetTensor → UNetNN → UNetData, UNetTrain → UNetSegC, CLI.

import PackageDescription

// `scripts/generate-header` sets UNETSEG_EMIT_HEADER to a path: the compiler then writes the C declarations
// of the `@c` functions there, which become include/unetseg.h. Ordinary builds do not set it.
let cHeaderSettings: [SwiftSetting] = Context.environment["UNETSEG_EMIT_HEADER"].map {
    [.unsafeFlags(["-emit-clang-header-path", $0])]
} ?? []

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
        // OpenBLAS headers only: the library is dlopen'ed at run time (see UNetTensor/BLAS.swift), so that
        // OPENBLAS_CORETYPE can be set before OpenBLAS initialises.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(
            name: "CTIFF", path: "Sources/CTIFF", pkgConfig: "libtiff-4",
            providers: [.apt(["libtiff-dev"])]),
        .systemLibrary(
            name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]),

        // MARK: - Library layers
        .target(name: "UNetTensor", dependencies: ["CBLAS"]),
        .target(name: "UNetNN", dependencies: ["UNetTensor"]),
        .target(name: "UNetData", dependencies: ["UNetTensor", "CTIFF"]),
        .target(name: "UNetTrain", dependencies: ["UNetNN", "UNetData", "CPNG"]),
        .target(name: "UNetSegC", dependencies: ["UNetTrain", "CUNetSegTypes"], swiftSettings: cHeaderSettings),
        .executableTarget(
            name: "unetseg-cli",
            dependencies: ["UNetTrain", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // MARK: - Implementation details
        .target(name: "_TestSupport", dependencies: ["UNetTensor", "UNetData"], path: "Sources/_TestSupport"),

        // MARK: - Tests
        .testTarget(name: "UNetTensorTests", dependencies: ["UNetTensor", "_TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "UNetNNTests", dependencies: ["UNetNN", "_TestSupport"]),
        .testTarget(name: "UNetTrainTests", dependencies: ["UNetTrain", "_TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "UNetDataTests", dependencies: ["UNetData", "_TestSupport"]),
    ]
)
