import ArgumentParser
import UNetTensor
#if canImport(Glibc)
import Glibc
#endif

/// `unetseg bench`: performance tables.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure the engine's speed.", subcommands: [BenchOpsCommand.self, BenchLayersCommand.self, BenchTrainCommand.self, BenchLoaderCommand.self])
}
