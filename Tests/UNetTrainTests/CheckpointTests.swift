import Testing
import _TestSupport
#if canImport(Glibc)
import Glibc
#endif
import UNetData
import UNetNN
import UNetTensor
import UNetTrain
import _UNetSupport

/// Checkpoints: our save/load round trip and metadata, state_dicts written by PyTorch's
/// `safetensors.torch.save_file`, and every bad file rejected with an error naming it.
@Suite struct CheckpointTests {
    /// A fresh empty folder, removed with everything in it when `body` returns.
    func withTemporaryFolder(_ body: (String) throws -> Void) throws {
        let folder = try TemporaryFolder()
        try body(folder.path)
    }

    /// A small model with random weights and a non-default configuration.
    func sampleModel() throws -> UNet {
        var generator = RandomGenerator(seed: 42)
        return try UNet(UNetConfig(channelsIn: 2, nClasses: 1, depth: 3, nFilters: 1, dropout: 0.25), generator: &generator)
    }

    /// The model of `pytorch_state_dict.safetensors` and its stored input and output.
    func pyTorchCase() throws -> (path: String, config: UNetConfig, input: Tensor, output: Tensor) {
        let io = try ModelFixtures.load("pytorch_state_dict_io.safetensors")
        return (ModelFixtures.path("pytorch_state_dict.safetensors"), try ModelFixtures.config(io, "pytorch_state_dict_io"),
                try ModelFixtures.tensor(io, "input"), try ModelFixtures.tensor(io, "output"))
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func aModelHoldingNonFiniteWeightsNeverReplacesAFile(bad: Float) throws {
        try withTemporaryFolder { folder in
            let model = try sampleModel()
            let path = folder + "/model.safetensors"
            try Checkpoint.save(model, to: path)
            let good = try FileSystem.readBytes(path)
            let (name, weight) = model.namedParameters()[2]
            weight.storage.pointer[1] = bad
            let refusal = "cannot write \(path): \(name) holds NaN or infinite values (the file was left as it was)"
            #expect(throws: UnetsegError.numeric(refusal)) { try Checkpoint.save(model, to: path) }
            #expect(try FileSystem.readBytes(path) == good)
            #expect(try FileSystem.listDirectory(folder) == ["model.safetensors"])
        }
    }

    @Test func saveThenLoadKeepsParametersConfigAndOutputs() throws {
        try withTemporaryFolder { folder in
            let model = try sampleModel()
            let path = folder + "/model.safetensors"
            try Checkpoint.save(model, to: path, metadata: ["epoch": "3"])

            let file = try SafeTensors.read(path: path)
            #expect(file.metadata["format"] == "unetseg")
            #expect(file.metadata["format_version"] == "1")
            #expect(file.metadata["epoch"] == "3")
            let config = try JSONValue.parse(try #require(file.metadata["config"]))
            #expect(config == Checkpoint.configJSON(model.config))
            #expect(config["depth"]?.intValue == 3 && config["channels_in"]?.intValue == 2)
            // Exactly the state_dict: every parameter under its PyTorch name and nothing else.
            #expect(file.tensors.map(\.name).sorted() == model.stateDict().map(\.name).sorted())

            let loaded = try Checkpoint.load(path)
            #expect(loaded.config == model.config)
            for (a, b) in zip(model.namedParameters(), loaded.namedParameters()) {
                #expect(a.name == b.name && a.tensor.toArray() == b.tensor.toArray(), "\(a.name)")
            }
            var generator = RandomGenerator(seed: 9)
            let input = try Tensor.uniform([2, 2, 8, 12], generator: &generator)
            model.eval()
            loaded.eval()
            #expect(try loaded(input).toArray() == model(input).toArray())
            // A matching config may be given too (dropout aside, which the file does not constrain).
            var sameShape = model.config
            sameShape.dropout = 0.5
            #expect(try Checkpoint.load(path, config: sameShape).config == model.config)
        }
    }

    @Test func batchNormModelKeepsItsBuffersAndConfigThroughAFile() throws {
        try withTemporaryFolder { folder in
            var generator = RandomGenerator(seed: 43)
            let model = try UNet(UNetConfig(depth: 2, nFilters: 1, dropout: 0, batchNorm: true), generator: &generator)
            _ = try model(try Tensor.uniform([2, 3, 4, 4], generator: &generator))   // running statistics move
            let path = folder + "/model.safetensors"
            try Checkpoint.save(model, to: path)
            let file = try SafeTensors.read(path: path)
            let config = try JSONValue.parse(try #require(file.metadata["config"]))
            #expect(config["batch_norm"]?.boolValue == true)
            #expect(file.tensors.map(\.name).contains("down_path.0.conv_block.conv_block.1.num_batches_tracked"))
            let loaded = try Checkpoint.load(path)
            #expect(loaded.config.batchNorm)
            #expect(loaded.stateDict().map(\.name) == model.stateDict().map(\.name))
            #expect(loaded.stateDict().map { $0.tensor.toArray() } == model.stateDict().map { $0.tensor.toArray() })
            model.eval()
            loaded.eval()
            let input = try Tensor.uniform([1, 3, 4, 4], generator: &generator)
            #expect(try loaded(input).toArray() == model(input).toArray())
        }
    }

    @Test func theDefaultConfigIsWrittenWithoutABatchNormKeyAndReadsBackAsFalse() throws {
        #expect(Checkpoint.configJSON(UNetConfig())["batch_norm"] == nil)
        let old = try JSONValue.parse(#"{"channels_in":3,"n_classes":1,"depth":5,"n_filters":6,"dropout":0.6}"#)
        #expect(try Checkpoint.config(from: old, source: "old.safetensors") == UNetConfig())
        let bad = try JSONValue.parse(#"{"channels_in":3,"n_classes":1,"depth":5,"n_filters":6,"dropout":0.6,"batch_norm":1}"#)
        #expect(throws: UnetsegError.format(#"bad.safetensors: model config's "batch_norm" is not true or false"#)) {
            try Checkpoint.config(from: bad, source: "bad.safetensors")
        }
    }

    @Test func aGivenConfigMustAgreeWithTheStoredOne() throws {
        try withTemporaryFolder { folder in
            let model = try sampleModel()
            let path = folder + "/model.safetensors"
            try Checkpoint.save(model, to: path)
            var other = model.config
            other.nFilters = 2
            do throws(UnetsegError) {
                _ = try Checkpoint.load(path, config: other)
                Issue.record("expected an error")
            } catch {
                #expect(error.message.contains(path))
            }
        }
    }

    @Test func loadsAStateDictSavedByPyTorch() throws {
        let torch = try pyTorchCase()
        let raw = try SafeTensors.read(path: torch.path)
        #expect(raw.metadata["format"] == nil && raw.metadata["config"] == nil, "written without our metadata")
        #expect(torch.config == UNetConfig(channelsIn: 1, nClasses: 2, depth: 2, nFilters: 3))
        let model = try Checkpoint.load(torch.path, config: torch.config)
        model.eval()
        let output = try model(torch.input)
        #expect(ModelFixtures.mismatch(output, torch.output, "output") == nil)
        for (name, tensor) in raw.tensors {
            #expect(model.stateDict().first { $0.name == name }?.tensor.toArray() == tensor.toArray(), "\(name)")
        }
    }

    @Test func aPyTorchStateDictNeedsAConfig() throws {
        let path = try pyTorchCase().path
        do {
            _ = try Checkpoint.load(path)
            Issue.record("expected an error")
        } catch {
            guard case .invalidArgument(let message) = error else {
                Issue.record("expected invalidArgument, got \(error)")
                return
            }
            #expect(message.contains(path) && message.contains("config"))
        }
    }

    @Test func aStateDictThatDoesNotFitListsEveryProblem() throws {
        let torch = try pyTorchCase()
        var entries = try SafeTensors.read(path: torch.path).tensors.map { ($0.name, $0.tensor) }
        entries.removeAll { $0.0 == "last.bias" }                                    // missing
        entries.append(("extra.weight", try Tensor.zeros([2, 2])))                   // unexpected
        let reshaped = "up_path.0.up.weight"
        let index = try #require(entries.firstIndex { $0.0 == reshaped })
        entries[index].1 = try entries[index].1.view([-1])                            // mis-shaped
        try withTemporaryFolder { folder in
            let path = folder + "/bad.safetensors"
            try SafeTensors.write(entries, metadata: [:], to: path)
            do throws(UnetsegError) {
                _ = try Checkpoint.load(path, config: torch.config)
                Issue.record("expected an error")
            } catch {
                #expect(error.message.contains(path))
                #expect(error.message.contains("missing keys: last.bias"))
                #expect(error.message.contains("unexpected keys: extra.weight"))
                #expect(error.message.contains("shape mismatch: \(reshaped) (expected [16, 8, 2, 2], got [512])"))
            }
        }
    }

    /// The parameter count computed from a configuration is that of the model it builds.
    @Test func configParameterCountMatchesTheBuiltModel() throws {
        for config in [UNetConfig(), UNetConfig(channelsIn: 1, nClasses: 2, depth: 2, nFilters: 3),
                       UNetConfig(channelsIn: 2, nClasses: 1, depth: 1, nFilters: 0)] {
            var generator = RandomGenerator(seed: 1)
            #expect(config.parameterCount == (try UNet(config, generator: &generator)).parameterCount, "\(config)")
        }
    }

    /// A config that is not JSON names the file; a small file whose config declares a huge model (depth 8,
    /// 4096 channels: about 2 GB of weights) is refused from its parameter count, before the model is
    /// built.
    @Test func malformedOrAbsurdConfigsAreRefusedNamingTheFile() throws {
        try withTemporaryFolder { folder in
            let weights = [("last.bias", try Tensor.zeros([1]))]
            let cases: [(String, String, String)] = [
                ("not-json", "{\"depth\": 3,", "its model config is not valid JSON"),
                ("absurd", #"{"channels_in":3,"n_classes":1,"depth":8,"n_filters":5,"dropout":0}"#,
                 "refused before building the model"),
            ]
            for (name, config, reason) in cases {
                let path = folder + "/\(name).safetensors"
                try SafeTensors.write(weights, metadata: ["format": "unetseg", "config": config], to: path)
                #expect(try FileSystem.readBytes(path).count < 400)
                do throws(UnetsegError) {
                    _ = try Checkpoint.load(path)
                    Issue.record("\(name): expected an error")
                } catch {
                    #expect(error == .format(error.message), "\(name): \(error)")
                    #expect(error.message.contains(path) && error.message.contains(reason), "\(name): \(error)")
                }
            }
        }
    }

    @Test func truncatedAndCorruptedFilesGiveErrorsNamingTheFile() throws {
        try withTemporaryFolder { folder in
            let good = folder + "/good.safetensors"
            try Checkpoint.save(try sampleModel(), to: good)
            let bytes = try FileSystem.readBytes(good)
            let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16
            var badHeader = bytes
            badHeader[8] = UInt8(ascii: "[")                        // the header is no longer an object
            var hugeHeader = bytes
            hugeHeader[5] = 0x7F                                    // header length far past the end
            var badConfig = bytes                                   // "depth":3 → "depth":0 in the metadata
            let depth = Array(#"\"depth\":3"#.utf8)
            let at = try #require((8..<(8 + headerLength)).first { Array(bytes[$0..<($0 + depth.count)]) == depth })
            badConfig[at + depth.count - 1] = UInt8(ascii: "0")
            let variants: [(String, [UInt8])] = [
                ("empty", []),
                ("length-only", Array(bytes.prefix(8))),
                ("half-header", Array(bytes.prefix(8 + headerLength / 2))),
                ("truncated-data", Array(bytes.dropLast(4))),
                ("half-file", Array(bytes.prefix(bytes.count / 2))),
                ("bad-header", badHeader),
                ("huge-header", hugeHeader),
                ("bad-config", badConfig),
            ]
            for (name, content) in variants {
                let path = folder + "/\(name).safetensors"
                try FileSystem.writeAtomically(content, to: path)
                do throws(UnetsegError) {
                    _ = try Checkpoint.load(path)
                    Issue.record("\(name): expected an error")
                } catch {
                    #expect(error.message.contains(path), "\(name): \(error.message)")
                    #expect(error == .format(error.message), "\(name) is a format error: \(error)")
                }
            }
            let missing = folder + "/missing.safetensors"
            do throws(UnetsegError) {
                _ = try Checkpoint.load(missing)
                Issue.record("expected an error for a missing file")
            } catch {
                #expect(error == .io(error.message) && error.message.contains(missing), "\(error)")
            }
        }
    }
}
