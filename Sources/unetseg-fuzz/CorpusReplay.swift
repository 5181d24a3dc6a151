#if !UNETSEG_FUZZING
#if canImport(Glibc)
import Glibc
#endif
import UNetData
import UNetTensor
import _UNetSupport

/// Without the fuzzing switch: replays corpus files through the fuzz targets (`make test-fuzz-corpus`),
/// or writes the seed corpora.
///
///     unetseg-fuzz replay <corpus folder> [target]   every <corpus>/<target>/* input; fails on a violation
///     unetseg-fuzz seeds <corpus folder>             writes the seed inputs
@main
struct CorpusReplay {
    static func main() {
        let arguments = CommandLine.arguments
        do {
            switch (arguments.count, arguments.count > 1 ? arguments[1] : "") {
            case (3, "replay"), (4, "replay"):
                let targets = arguments.count == 4 ? FuzzTarget.allCases.filter { $0.rawValue == arguments[3] }
                                                   : FuzzTarget.allCases
                guard !targets.isEmpty else { fail("unknown target \(arguments[3])") }
                try replay(arguments[2], targets)
            case (3, "seeds"):
                try SeedCorpus.write(to: arguments[2])
            default:
                fail("usage: unetseg-fuzz replay <corpus folder> [target] | seeds <corpus folder>")
            }
        } catch {
            fail(error.message)
        }
    }

    /// Runs every input of each target's folder; exits non-zero on a violation or an empty folder.
    static func replay(_ root: String, _ targets: [FuzzTarget]) throws(UnetsegError) {
        FuzzTarget.prepareProcess()
        let scratch = try ScratchFolder()
        var violations = 0
        for target in targets {
            let folder = FileSystem.joined(root, target.rawValue)
            let names = try FileSystem.listDirectory(folder).sorted()
            guard !names.isEmpty else { fail("\(folder): no inputs") }
            for name in names {
                let input = try FileSystem.readBytes(FileSystem.joined(folder, name))
                do { try target.run(input, scratch: scratch) } catch {
                    print("FAIL \(target.rawValue)/\(name): \(error)")
                    violations += 1
                }
            }
            print("\(target.rawValue): \(names.count) inputs replayed")
        }
        if violations > 0 { fail("\(violations) inputs broke a promise") }
    }

    static func fail(_ message: String) -> Never {
        print("unetseg-fuzz: \(message)")
        exit(1)
    }
}
#endif
