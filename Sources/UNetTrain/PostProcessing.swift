import _UNetSupport

/// What is done to a patient's binarised predicted volume (prediction > 0.5, its slices stacked in order)
/// before it is scored and written.
public enum PostProcessing: String, Sendable, CaseIterable, NamedChoice {
    /// The network's mask as it is (the post's way).
    case none
    /// Only the largest 6-connected component of the volume is kept, as Buda et al. (2019) do: lesion
    /// voxels linked through faces (left/right, up/down, previous/next slice), not through edges or corners.
    /// Face connectivity is scipy.ndimage.label's default, which the paper's post-processing uses; and slices
    /// are thicker than pixels are wide, so a voxel touching another only diagonally across slices is weak
    /// evidence that both belong to one lesion. Among components of equal size the first one met in
    /// slice-row-column order is kept.
    case largestComponent = "largest-component"

    /// What the option is called in errors.
    public static let choiceName = "post-processing"

    /// Applies this post-processing to `mask`, a `depth × height × width` volume (slice-major, row-major),
    /// in place.
    public func apply(to mask: inout [Bool], depth: Int, height: Int, width: Int) throws(UnetsegError) {
        switch self {
        case .none: return
        case .largestComponent:
            try checkArgument(depth >= 0 && height >= 0 && width >= 0 && mask.count == depth * height * width,
                              "a volume of \(depth)x\(height)x\(width) voxels cannot hold \(mask.count) values")
            Self.keepLargestComponent(&mask, depth: depth, height: height, width: width)
        }
    }

    /// Applies this post-processing to the probabilities of a `depth × height × width` volume: voxels it
    /// removes from the binarised mask (prediction > 0.5) get probability 0; the others keep theirs.
    public func apply(toProbabilities volume: inout [Float], depth: Int, height: Int, width: Int) throws(UnetsegError) {
        guard self != .none else { return }
        var mask = volume.map { $0 > 0.5 }
        try apply(to: &mask, depth: depth, height: height, width: width)
        for i in volume.indices where !mask[i] && volume[i] > 0.5 { volume[i] = 0 }
    }

    /// Clears every voxel of `mask` outside its largest 6-connected component (the first one in scan order
    /// among equals); an empty mask stays empty.
    static func keepLargestComponent(_ mask: inout [Bool], depth: Int, height: Int, width: Int) {
        let plane = height * width
        var label = [Int32](repeating: 0, count: mask.count)
        var stack: [Int] = []
        var best: (label: Int32, size: Int) = (0, 0)
        var next: Int32 = 0
        for seed in mask.indices where mask[seed] && label[seed] == 0 {
            next += 1
            label[seed] = next
            stack.append(seed)
            var size = 0
            while let v = stack.popLast() {
                size += 1
                let z = v / plane, y = (v % plane) / width, x = v % width
                func visit(_ u: Int) {
                    if mask[u] && label[u] == 0 { label[u] = next; stack.append(u) }
                }
                if x > 0 { visit(v - 1) }
                if x + 1 < width { visit(v + 1) }
                if y > 0 { visit(v - width) }
                if y + 1 < height { visit(v + width) }
                if z > 0 { visit(v - plane) }
                if z + 1 < depth { visit(v + plane) }
            }
            if size > best.size { best = (next, size) }
        }
        for i in mask.indices where mask[i] && label[i] != best.label { mask[i] = false }
    }
}
