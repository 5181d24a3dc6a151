/// Distances between the surfaces of two binary volumes (a patient's stack of slices), in voxel units: one
/// unit is one pixel in the slice plane and one slice along the stack (the slices' spacing is not known).
///
/// A surface voxel is a voxel of the mask with at least one of its six face neighbours outside the mask or
/// outside the volume. The Hausdorff-95 distance pools the distances from every surface voxel of either mask
/// to the nearest surface voxel of the other (Euclidean, exact) and takes their 95th percentile, linearly
/// interpolated between order statistics (numpy's default), as MedPy's `hd95` does.
public struct SurfaceDistance: Sendable {
    /// Slices.
    public let depth: Int
    /// Rows of a slice.
    public let height: Int
    /// Columns of a slice.
    public let width: Int

    /// A volume of `depth` slices of `height × width` voxels.
    public init(depth: Int, height: Int, width: Int) {
        self.depth = depth; self.height = height; self.width = width
    }

    /// The length of the volume's diagonal, √(depth² + height² + width²): the Hausdorff-95 distance reported
    /// when exactly one of the masks is empty (no surface to measure to), the largest any two voxels of the
    /// volume can be apart.
    public var diagonal: Double {
        Double(depth * depth + height * height + width * width).squareRoot()
    }

    /// The Hausdorff-95 distance between `prediction` and `truth` (`depth · height · width` flags each,
    /// slice-major then row-major): 0 when both are empty, `diagonal` when exactly one is; NaN when a mask
    /// does not have that many flags.
    public func hausdorff95(prediction: [Bool], truth: [Bool]) -> Double {
        let count = depth * height * width
        guard depth >= 0, height >= 0, width >= 0, prediction.count == count, truth.count == count else { return .nan }
        let a = surface(of: prediction), b = surface(of: truth)
        if a.isEmpty && b.isEmpty { return 0 }
        if a.isEmpty || b.isEmpty { return diagonal }
        let toB = squaredDistances(to: b), toA = squaredDistances(to: a)
        let distances = a.map { Double(toB[$0]).squareRoot() } + b.map { Double(toA[$0]).squareRoot() }
        return Self.percentile(distances, 0.95)
    }

    /// The indices of the surface voxels of `mask`.
    func surface(of mask: [Bool]) -> [Int] {
        let plane = height * width
        var result: [Int] = []
        for z in 0..<depth {
            for y in 0..<height {
                for x in 0..<width {
                    let i = z * plane + y * width + x
                    guard mask[i] else { continue }
                    let inside = x > 0 && mask[i - 1] && x < width - 1 && mask[i + 1]
                        && y > 0 && mask[i - width] && y < height - 1 && mask[i + width]
                        && z > 0 && mask[i - plane] && z < depth - 1 && mask[i + plane]
                    if !inside { result.append(i) }
                }
            }
        }
        return result
    }

    /// The squared Euclidean distance from every voxel to the nearest of `sites` (exact; the separable
    /// distance transform of Felzenszwalb and Huttenlocher, one pass per axis).
    func squaredDistances(to sites: [Int]) -> [Float] {
        var d = [Float](repeating: .infinity, count: depth * height * width)
        for i in sites { d[i] = 0 }
        let plane = height * width
        var line = [Float](), out = [Float]()
        func transform(count: Int, stride: Int, starts: [Int]) {
            line = [Float](repeating: 0, count: count)
            out = line
            for start in starts {
                for k in 0..<count { line[k] = d[start + k * stride] }
                Self.transformLine(line, into: &out)
                for k in 0..<count { d[start + k * stride] = out[k] }
            }
        }
        transform(count: width, stride: 1, starts: (0..<(depth * height)).map { $0 * width })
        transform(count: height, stride: width,
                  starts: (0..<depth).flatMap { z in (0..<width).map { z * plane + $0 } })
        transform(count: depth, stride: plane, starts: Array(0..<plane))
        return d
    }

    /// One-dimensional squared distance transform of `f` (∞ where there is no site) into `out`: the lower
    /// envelope of the parabolas (q − p)² + f(p) over the finite points p.
    static func transformLine(_ f: [Float], into out: inout [Float]) {
        let sites = f.indices.filter { f[$0].isFinite }
        guard !sites.isEmpty else {
            for k in out.indices { out[k] = .infinity }
            return
        }
        var hull: [Int] = [], starts: [Float] = []   // parabola vertices, and where each starts to be lowest
        for q in sites {
            let fq = f[q] + Float(q * q)
            while let v = hull.last {
                let s = (fq - (f[v] + Float(v * v))) / Float(2 * (q - v))
                if let start = starts.last, s <= start {
                    hull.removeLast(); starts.removeLast()
                } else {
                    hull.append(q); starts.append(s)
                    break
                }
            }
            if hull.isEmpty { hull.append(q); starts.append(-.infinity) }
        }
        var k = 0
        for q in out.indices {
            while k + 1 < hull.count && starts[k + 1] < Float(q) { k += 1 }
            let dq = Float(q - hull[k])
            out[q] = dq * dq + f[hull[k]]
        }
    }

    /// The `p` quantile of `values` (0 ≤ p ≤ 1), linearly interpolated between the order statistics at
    /// position p · (n − 1); NaN when `values` is empty.
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted(), position = p * Double(sorted.count - 1)
        let low = Int(position.rounded(.down)), high = min(low + 1, sorted.count - 1)
        return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
    }
}
