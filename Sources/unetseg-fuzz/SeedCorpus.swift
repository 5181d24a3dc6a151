import UNetData
import UNetNN
import UNetTensor
import UNetTrain
import _UNetSupport

/// The seed inputs of every target, written by `unetseg-fuzz seeds <folder>` into `<folder>/<target>/`:
/// small valid files made by the library's own writers, and near-valid variants of them.
enum SeedCorpus {
    static func write(to root: String) throws(UnetsegError) {
        let scratch = try FileSystem.makeTemporaryDirectory(prefix: "unetseg-fuzz-seeds-")
        defer { try? FileSystem.removeTree(scratch) }
        var seeds: [(FuzzTarget, String, [UInt8])] = []
        let tiffs = try tiffSeeds(scratch)
        seeds += tiffs.map { (.tiff, $0.name, $0.bytes) }
        seeds += try safeTensorsSeeds(scratch).map { (.safetensors, $0.name, $0.bytes) }
        seeds += jsonSeeds.map { (.json, $0.name, Array($0.text.utf8)) }
        seeds += [(.trainingState, "trained-one-epoch", try trainingStateSeed(scratch))]
        seeds += datasetSeeds(tiffs).map { (.datasetFolder, $0.name, $0.bytes) }
        seeds += CAPISeeds.programs.map { (.cAPI, $0.name, $0.bytes) }
        for (target, name, bytes) in seeds {
            let folder = FileSystem.joined(root, target.rawValue)
            try FileSystem.makeDirectories(folder)
            try FileSystem.writeAtomically(bytes, to: FileSystem.joined(folder, name))
        }
    }

    /// 8×8 slices in each layout the writer makes, and one cut short.
    private static func tiffSeeds(_ scratch: String) throws(UnetsegError) -> [(name: String, bytes: [UInt8])] {
        let (image, mask) = TinySliceFolder.rasters(slice: 1, size: 8)
        let variants: [(String, Raster, TIFFWriteOptions)] = [
            ("rgb.tif", image, .init()),
            ("mask.tif", mask, .init()),
            ("rgb-lzw.tif", image, .init(compression: .lzw)),
            ("rgb-deflate-tiled.tif", image, .init(compression: .deflate, tiled: true, tileSize: 16)),
            ("rgb-packbits-planar.tif", image, .init(compression: .packBits, planarSeparate: true)),
            ("mask-16bit-bigendian.tif", mask, .init(bitsPerSample: 16, bigEndian: true)),
        ]
        var seeds: [(name: String, bytes: [UInt8])] = []
        for (name, raster, options) in variants {
            let path = FileSystem.joined(scratch, name)
            try TIFFFile.write(raster, to: path, options: options)
            seeds.append((name, try FileSystem.readBytes(path)))
        }
        seeds.append(("rgb-truncated.tif", Array(seeds[0].bytes.prefix(seeds[0].bytes.count / 2))))
        return seeds
    }

    /// A checkpoint of the smallest model, a file of every dtype, and the checkpoint cut short.
    private static func safeTensorsSeeds(_ scratch: String) throws(UnetsegError) -> [(name: String, bytes: [UInt8])] {
        var generator = RandomGenerator(seed: 1)
        let model = try UNet(UNetConfig(channelsIn: 1, nClasses: 1, depth: 1, nFilters: 0), generator: &generator)
        let path = FileSystem.joined(scratch, "model.safetensors")
        try Checkpoint.save(model, to: path)
        let checkpoint = try FileSystem.readBytes(path)
        var dtypes: [UInt8] = []
        var header = "{\"__metadata__\":{\"format\":\"x\"}"
        var offset = 0
        for (dtype, width) in [("F32", 4), ("F16", 2), ("BF16", 2), ("F64", 8), ("I32", 4), ("I64", 8)] {
            header += ",\"\(dtype.lowercased())\":{\"dtype\":\"\(dtype)\",\"shape\":[2],\"data_offsets\":[\(offset),\(offset + 2 * width)]}"
            dtypes += (0..<2 * width).map { UInt8(truncatingIfNeeded: $0 * 37 + 3) }
            offset += 2 * width
        }
        header += "}"
        let length = UInt64(header.utf8.count)
        let file = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } + Array(header.utf8) + dtypes
        return [("model.safetensors", checkpoint), ("dtypes.safetensors", file),
                ("model-truncated.safetensors", Array(checkpoint.prefix(checkpoint.count - 5)))]
    }

    private static let jsonSeeds: [(name: String, text: String)] = [
        ("config.json", #"{"channels_in":3,"n_classes":1,"depth":5,"n_filters":6,"dropout":0.6}"#),
        ("nested.json", #"[{"a":[1,-2.5e-3,true,false,null]},{"b":{"c":"d"}},[],{}]"#),
        ("escapes.json", #"["\"\\\/\b\f\n\r\t","\u00e9\ud83d\ude00","é"]"#),
        ("numbers.json", "[0,-0,1e308,-1E-308,123456789012345678901234567890,0.1]"),
        ("unterminated.json", #"{"a":[1,2"#),
    ]

    /// The training state of a one-epoch run of the smallest model on two 8×8 slices.
    private static func trainingStateSeed(_ scratch: String) throws(UnetsegError) -> [UInt8] {
        let data = FileSystem.joined(scratch, "data")
        try TinySliceFolder.write(to: data, patient: "TCGA_AA_0001_20000101", slices: 2, size: 8)
        var options = TrainingOptions(trainDir: data, validDir: "", outDir: FileSystem.joined(scratch, "run"))
        options.epochs = 1
        options.batchSize = 2
        options.model = UNetConfig(channelsIn: 3, nClasses: 1, depth: 1, nFilters: 0)
        options.augmentation = nil
        options.loaderWorkers = 0
        _ = try Trainer(options: options).run()
        return try FileSystem.readBytes(FileSystem.joined(options.outDir, TrainingState.fileName))
    }

    /// Dataset folders in `DatasetFolderFuzzing`'s layout: a valid one, one with an orphan mask, one resized
    /// by its options byte with a second patient, one with a file that is not a slice.
    private static func datasetSeeds(_ tiffs: [(name: String, bytes: [UInt8])]) -> [(name: String, bytes: [UInt8])] {
        let image = tiffs[0].bytes, mask = tiffs[1].bytes
        func entry(_ name: String, _ bytes: [UInt8]) -> [UInt8] {
            [UInt8(name.utf8.count)] + Array(name.utf8) + [UInt8(bytes.count & 0xFF), UInt8(bytes.count >> 8)] + bytes
        }
        let p = "TCGA_AA_0001_20000101"
        let valid = entry("\(p)/\(p)_1.tif", image) + entry("\(p)/\(p)_1_mask.tif", mask)
            + entry("\(p)/\(p)_2.tif", image) + entry("\(p)/\(p)_2_mask.tif", mask)
        return [
            ("valid", [0] + valid),
            ("valid-augmented-sampled", [6] + valid),
            ("orphan-mask", [0] + valid + entry("\(p)/\(p)_3_mask.tif", mask)),
            ("resized", [1] + valid + entry("B/B_1.tif", tiffs[3].bytes) + entry("B/B_1_mask.tif", mask)),
            ("not-a-slice", [0] + valid + entry("data.csv", Array("a,b\n".utf8)) + entry("\(p)/\(p)_x.tif", image)),
        ]
    }
}
