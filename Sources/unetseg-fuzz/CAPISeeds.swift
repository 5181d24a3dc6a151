/// Hand-written C API fuzz programs (see `CAPICalls` for the byte layout of each call): tensors through
/// autograd, a model through a training step, a dataset through a loader.
enum CAPISeeds {
    /// A `ByteReader.size()` argument (small values only).
    private static func size(_ n: Int) -> [UInt8] { [UInt8(n + 8)] }
    private static func float(_ x: Float) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: x.bitPattern >> (8 * $0)) } }
    private static let noHandle: [UInt8] = [0xFF]
    private static func made(_ i: Int) -> [UInt8] { [UInt8(i)] }
    private static let out: [UInt8] = [0]

    static let programs: [(name: String, bytes: [UInt8])] = [
        ("tensor-autograd", tensorAutograd),
        ("model-step", modelStep),
        ("dataset-loader", datasetLoader),
    ]

    /// Create [2, 2], require grad, sum, backward, read the gradient, free, query the freed handle.
    private static let tensorAutograd: [UInt8] =
        [0, 2] + size(2) + size(2) + [1, 2, 3, 4].flatMap { float($0) } + out
        + [7, 2] + made(0) + [1]
        + [4, 0] + made(0) + float(0) + out
        + [7, 0] + made(1) + [0]
        + [7, 3] + made(0) + [0]
        + [6, 3] + made(2) + size(4) + out
        + [8, 0] + made(0)
        + [6, 2] + made(0) + size(8) + out

    /// The smallest model, a forward pass on zeros, an optimiser and a one-cycle schedule stepped once.
    private static let modelStep: [UInt8] = {
        let sgdParams = float(0.1) + float(0.9) + float(0) + float(0) + [0]
        let cycleParams = float(0.1) + size(2) + size(2) + float(0.3) + float(25) + float(1e4) + float(0.85) + float(0.95) + [1]
        var p: [UInt8] = [9] + size(1) + size(1) + size(1) + size(0) + float(0) + size(0) + out
        p += [1, 4] + size(1) + size(1) + size(8) + size(8) + [0] + out
        p += [11, 0] + made(0) + size(0) + made(1) + out
        p += [13, 0] + sgdParams + made(0)
        p += [14, 0] + cycleParams + made(3)
        p += [4, 1] + made(2) + float(0) + out
        p += [7, 0] + made(5) + [0]
        p += [13, 1] + sgdParams + made(3)
        p += [14, 1] + cycleParams + made(4)
        p += [12, 1] + made(0) + [2] + size(1) + size(1) + size(1) + size(0) + float(0) + size(0) + [0]
        return p
    }()

    /// Open the fixture dataset, make a loader of batch size 2, take a batch, read an item.
    private static let datasetLoader: [UInt8] = {
        let loaderParams = size(2) + [0, 0] + size(0) + [UInt8](repeating: 1, count: 8) + size(0)
        var p: [UInt8] = [17, 0] + noHandle + size(0) + size(0) + [0] + float(0.05) + float(15) + float(0.5) + [0]
            + [UInt8](repeating: 7, count: 8) + [0]
        p += [18, 0] + loaderParams + made(0)
        p += [18, 1] + loaderParams + made(1)
        p += [17, 3] + made(0) + size(1) + size(0)
        return p
    }()
}
