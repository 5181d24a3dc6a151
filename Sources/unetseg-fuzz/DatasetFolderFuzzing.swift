import UNetData
import UNetTensor
import _UNetSupport

/// The dataset scan of a folder built from the input, then its first items: a dataset whose items have
/// the shapes it reports, or an error naming the folder or the file at fault.
///
/// Input layout: one options byte (bit 0: resize items to `resizedSize`, bit 1: augment, bit 2: random
/// sampling), then up to `maximumFiles` entries, each a name (a length byte, then that many bytes; one `/`
/// makes a patient folder) and contents (a little-endian UInt16 length, then that many bytes).
enum DatasetFolderFuzzing {
    static let maximumFiles = 16
    static let resizedSize = 16
    static let itemsLoaded = 3

    static func run(_ input: [UInt8], scratch: ScratchFolder) throws(FuzzViolation) {
        let root = scratch.file("dataset")
        try build(root, from: input)
        var reader = ByteReader(input)
        let options = reader.byte()
        do {
            let dataset = try BrainSegDataset(
                root: root, augmentation: options & 2 != 0 ? AugmentationParameters() : nil,
                randomSampling: options & 4 != 0, size: options & 1 != 0 ? resizedSize : nil)
            for index in 0..<min(dataset.count, itemsLoaded) {
                let (image, mask) = try dataset.item(index)
                guard image.shape == [3, dataset.height, dataset.width], mask.shape == [1, dataset.height, dataset.width] else {
                    throw FuzzViolation("item \(index) has shapes \(image.shape) and \(mask.shape) in a "
                        + "\(dataset.width)×\(dataset.height) dataset")
                }
            }
        } catch let error as UnetsegError {
            try requireNamed(root, in: error)
        } catch let violation as FuzzViolation {
            throw violation
        } catch {
            throw FuzzViolation("unexpected error \(error)")
        }
    }

    /// Replaces `root` with the files the input describes.
    private static func build(_ root: String, from input: [UInt8]) throws(FuzzViolation) {
        do {
            try FileSystem.removeTree(root)
            try FileSystem.makeDirectories(root)
        } catch {
            throw FuzzViolation("harness: cannot make \(root): \(error.message)")
        }
        var reader = ByteReader(input)
        _ = reader.byte()
        for _ in 0..<maximumFiles where reader.hasMore {
            let name = fileName(reader.bytes(Int(reader.byte())))
            let contents = reader.bytes(Int(reader.uint16()))
            let path = FileSystem.joined(root, name)
            if name.contains("/") {
                do { try FileSystem.makeDirectories(FileSystem.parentDirectory(path)) } catch { continue }
            }
            // A name the file system refuses (too long, say) is left out, as a user could not make it either.
            try? ScratchFolder.write(contents, to: path)
        }
    }

    /// A relative name of at most two components from raw bytes: NUL, empty, `.` and `..` components are
    /// replaced, so that every file lands inside the dataset folder.
    private static func fileName(_ bytes: ArraySlice<UInt8>) -> String {
        let text = String(decoding: bytes.map { $0 == 0 ? UInt8(ascii: "_") : $0 }, as: UTF8.self)
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map { part in
            part.isEmpty || part == "." || part == ".." ? "_" : part.replacingSlashes()
        }
        return parts.joined(separator: "/")
    }
}

private extension Substring {
    func replacingSlashes() -> String { String(map { $0 == "/" ? "_" : $0 }) }
}
