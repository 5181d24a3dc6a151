import UNetTensor
import _UNetSupport

/// The post's `brainseg_dataset`: every slice under a folder in Kaggle's `kaggle_3m` layout, as
/// (image `[3, H, W]`, mask `[1, H, W]`) float tensors (row-major CHW).
///
/// Slices are found recursively and paired by name (`<p>_<n>.tif` with `<p>_<n>_mask.tif`), ordered by
/// patient and then numerically by slice; other files are ignored. Images are min-max scaled per image to
/// [0, 1] (or, with `normalization`, normalised per patient volume: `VolumeNormalization`), grayscale images
/// repeated to 3 channels; masks become {0, 1}. With `randomSampling`, item `i` is
/// instead a slice drawn with the lesion weights of `SliceWeights`; with `size`, every slice is resized to
/// `size × size` as it is read (otherwise all slices must have one size); with `augmentation`, each item is
/// resized, rotated and flipped at random. The randomness of item `i` in `epoch` comes from
/// `(seed, epoch, i)` alone, so loading in parallel gives the same items.
public final class BrainSegDataset: BatchSource, @unchecked Sendable {
    /// One slice: where its files are and how much lesion it has.
    public struct Slice: Sendable, Equatable {
        /// Patient id.
        public var patient: String
        /// 1-based slice number within the patient.
        public var number: Int
        /// Path of the image TIFF.
        public var imagePath: String
        /// Path of the mask TIFF.
        public var maskPath: String
        /// Lesion pixels in the mask.
        public var lesionPixels: Int
    }

    /// The folder it was opened on.
    public let root: String
    /// The slices, by patient and slice number.
    public let slices: [Slice]
    /// Sampling weight of each slice (`calc_slice_weights`).
    public let weights: [Double]
    /// Training augmentation, or nil.
    public let augmentation: AugmentationParameters?
    /// Whether items are drawn by lesion weight instead of in order.
    public let randomSampling: Bool
    /// Key of all randomness of this dataset.
    public let seed: UInt64
    /// Height and width of every item: `size`, or the slices' own size.
    public let height: Int, width: Int
    /// The size every slice is resized to, or nil to keep the files' size.
    public let size: Int?
    /// How images are scaled as they are read (the post's per-slice min-max by default).
    public var normalization: IntensityNormalization { normalizer.method }
    private let normalizer: VolumeNormalization
    private let sampler: WeightedSampler

    /// Opens the dataset under `root`, reading every mask once (in parallel) for the lesion weights.
    /// Throws `.io` for a missing folder, `.format` naming the file for an orphan image or mask, an
    /// unreadable mask or masks of different sizes, and `.invalidArgument` for a folder with no slices.
    public init(root: String, augmentation: AugmentationParameters? = nil, randomSampling: Bool = false,
                seed: UInt64 = 777, size: Int? = nil, normalization: IntensityNormalization = .minmax) throws(UnetsegError) {
        try augmentation?.validate()
        try checkArgument(size.map { $0 >= 8 && $0 <= 4096 } ?? true, "slice size must be in 8...4096, got \(size ?? 0)")
        guard FileSystem.isDirectory(root) else { throw .io("\(root): no such folder") }
        var images: [String: (SliceFileName, String)] = [:], masks: [String: String] = [:]
        for path in try FileSystem.walk(root) {
            guard let name = SliceFileName(FileSystem.baseName(path)) else { continue }
            let key = name.patient + "_" + String(name.slice)
            if name.isMask { masks[key] = path } else { images[key] = (name, path) }
        }
        for (key, (_, path)) in images where masks[key] == nil {
            throw .format("\(path): no mask (expected \(key)_mask.tif beside it)")
        }
        for (key, path) in masks where images[key] == nil {
            throw .format("\(path): mask without an image (expected \(key).tif beside it)")
        }
        guard !images.isEmpty else { throw .invalidArgument("\(root): no slices (<patient>_<n>.tif with <patient>_<n>_mask.tif) found") }
        let ordered = images.values.sorted { a, b in
            a.0.patient != b.0.patient ? a.0.patient < b.0.patient : a.0.slice < b.0.slice
        }
        let maskPaths = ordered.map { masks[$0.0.patient + "_" + String($0.0.slice)] ?? "" }
        let measured = try Self.measureMasks(maskPaths)
        let (h, w) = (measured[0].height, measured[0].width)
        for (path, m) in zip(maskPaths, measured) where size == nil && (m.height != h || m.width != w) {
            throw .format("\(path): mask is \(m.width)×\(m.height), but \(maskPaths[0]) is \(w)×\(h)")
        }
        slices = zip(ordered, zip(maskPaths, measured)).map { image, mask in
            Slice(patient: image.0.patient, number: image.0.slice, imagePath: image.1, maskPath: mask.0,
                  lesionPixels: mask.1.lesionPixels)
        }
        weights = try SliceWeights.weights(lesionAmounts: slices.map { Double($0.lesionPixels) })
        sampler = try WeightedSampler(weights: weights)
        self.root = root
        self.augmentation = augmentation
        self.randomSampling = randomSampling
        self.seed = seed
        height = size ?? h
        width = size ?? w
        self.size = size
        normalizer = VolumeNormalization(normalization)
    }

    /// Size and lesion pixel count of each mask, read in parallel; the first error (in order) is thrown.
    private static func measureMasks(_ paths: [String]) throws(UnetsegError) -> [(height: Int, width: Int, lesionPixels: Int)] {
        var results = [Result<(height: Int, width: Int, lesionPixels: Int), UnetsegError>](
            repeating: .failure(.internal("mask not read")), count: paths.count)
        results.withUnsafeMutableBufferPointer { out in
            let out = UncheckedSendable(out)
            Parallel.forEachChunk(paths.count, minimumPerThread: 16) { lo, hi in
                for i in lo..<hi {
                    do throws(UnetsegError) {
                        let mask = try TIFFFile.read(paths[i])
                        out.value[i] = .success((mask.height, mask.width, mask.samples.prefix(mask.width * mask.height).reduce(0) { $0 + ($1 > 0 ? 1 : 0) }))
                    } catch {
                        out.value[i] = .failure(error)
                    }
                }
            }
        }
        return try results.map { r throws(UnetsegError) in try r.get() }
    }

    /// Floats in one item: the 3-channel image and the 1-channel mask.
    public var itemElements: Int? { 4 * height * width }

    /// Number of slices (the post's `length(ds)`).
    public var count: Int { slices.count }

    /// The slice that item `index` of `epoch` shows: `index` itself, or a weighted draw with random sampling.
    public func sliceIndex(for index: Int, epoch: Int) -> Int {
        guard randomSampling else { return index }
        var generator = itemGenerator(index, epoch: epoch)
        return sampler.sample(using: &generator)
    }

    private func itemGenerator(_ index: Int, epoch: Int) -> RandomGenerator {
        RandomGenerator(seed: seed).derived(UInt64(truncatingIfNeeded: epoch), UInt64(truncatingIfNeeded: index))
    }

    /// Item `index` (0-based) of `epoch`: the scaled image `[3, H, W]` and mask `[1, H, W]`, sampled and
    /// augmented as configured.
    public func item(_ index: Int, epoch: Int = 0) throws(UnetsegError) -> (image: Tensor, mask: Tensor) {
        try checkArgument(index >= 0 && index < count, "index \(index) out of range for a dataset of \(count) slices")
        var generator = itemGenerator(index, epoch: epoch)
        let chosen = randomSampling ? sampler.sample(using: &generator) : index
        var (image, mask) = try load(slice: chosen)
        if let augmentation {
            (image, mask) = try augmentation.apply(image: image, mask: mask, generator: &generator)
        }
        return (image, mask)
    }

    /// Slice `i` as read: image `[3, H, W]` scaled as `normalization` says (the first slice read of a patient
    /// reads all of the patient's slices for its statistics) and {0, 1} mask `[1, H, W]`, no augmentation.
    public func load(slice i: Int) throws(UnetsegError) -> (image: Tensor, mask: Tensor) {
        try checkArgument(i >= 0 && i < count, "slice \(i) out of range for a dataset of \(count) slices")
        let s = slices[i]
        let image = try normalizer.image(at: s.imagePath, patient: s.patient) {
            slices.filter { $0.patient == s.patient }.map(\.imagePath)
        }
        let mask = try SliceImage.loadMask(s.maskPath)
        guard image.shape[1] == mask.shape[1], image.shape[2] == mask.shape[2] else {
            throw .format("\(s.imagePath): image is \(image.shape[2])×\(image.shape[1]), its mask \(mask.shape[2])×\(mask.shape[1])")
        }
        guard let size else {
            guard mask.shape[1] == height, mask.shape[2] == width else {
                throw .format("\(s.maskPath): mask is \(mask.shape[2])×\(mask.shape[1]), expected \(width)×\(height)")
            }
            return (image, mask)
        }
        return (try SliceImage.resized(image, height: size, width: size, nearest: false),
                try SliceImage.resized(mask, height: size, width: size, nearest: true))
    }
}
