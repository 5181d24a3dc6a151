import UNetTensor

/// An RGB picture in memory (8 bits per channel, row-major, interleaved RGB) to draw figures on and save as
/// PNG with `PNGFile`.
public struct Canvas: Sendable {
    /// An RGB colour.
    public struct Color: Sendable, Equatable {
        public var r: UInt8, g: UInt8, b: UInt8
        /// A colour from its components.
        public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
        public static let black = Color(0, 0, 0)
        public static let white = Color(255, 255, 255)
        public static let red = Color(230, 40, 40)
        public static let green = Color(40, 200, 60)
        public static let blue = Color(40, 90, 230)
        public static let orange = Color(240, 150, 30)
        public static let gray = Color(150, 150, 150)
    }

    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// `height · width · 3` bytes.
    public private(set) var pixels: [UInt8]

    /// A canvas filled with `background`. Sizes are clamped to 1…16384.
    public init(width: Int, height: Int, background: Color = .white) {
        self.width = min(max(width, 1), 16384)
        self.height = min(max(height, 1), 16384)
        pixels = [UInt8](repeating: 0, count: self.width * self.height * 3)
        fill(x: 0, y: 0, width: self.width, height: self.height, background)
    }

    /// Sets one pixel; points outside the canvas are ignored.
    public mutating func set(_ x: Int, _ y: Int, _ c: Color) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = c.r; pixels[i + 1] = c.g; pixels[i + 2] = c.b
    }

    /// Fills a rectangle (clipped to the canvas).
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ c: Color) {
        for yy in max(0, y)..<max(max(0, y), min(height, y + h)) {
            for xx in max(0, x)..<max(max(0, x), min(width, x + w)) { set(xx, yy, c) }
        }
    }

    /// Draws a line from (x0, y0) to (x1, y1), `thickness` pixels wide. Only the part near the canvas is
    /// drawn, so any finite coordinates take at most a few thousand steps; a line with a non-finite end is
    /// not drawn.
    public mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ c: Color, thickness: Int = 1) {
        let margin = Double(max(1, thickness))
        guard let (x0, y0, x1, y1) = Canvas.clip(x0, y0, x1, y1, to: (-margin, -margin, Double(width) + margin, Double(height) + margin))
        else { return }
        let steps = max(1, Int(max(abs(x1 - x0), abs(y1 - y0)).rounded(.up)))
        let half = thickness / 2
        for s in 0...steps {
            let t = Double(s) / Double(steps)
            let x = Int((x0 + (x1 - x0) * t).rounded()), y = Int((y0 + (y1 - y0) * t).rounded())
            fill(x: x - half, y: y - half, width: thickness, height: thickness, c)
        }
    }

    /// The part of the segment (x0, y0)–(x1, y1) inside the rectangle `box` (Liang–Barsky), or nil when
    /// none is or an end is not finite.
    static func clip(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double,
                     to box: (minX: Double, minY: Double, maxX: Double, maxY: Double)) -> (Double, Double, Double, Double)? {
        guard x0.isFinite, y0.isFinite, x1.isFinite, y1.isFinite else { return nil }
        let dx = x1 - x0, dy = y1 - y0
        guard dx.isFinite, dy.isFinite else { return nil }
        var enter = 0.0, leave = 1.0
        for (p, q) in [(-dx, x0 - box.minX), (dx, box.maxX - x0), (-dy, y0 - box.minY), (dy, box.maxY - y0)] {
            if p == 0 {
                if q < 0 { return nil }
            } else {
                let t = q / p
                if p < 0 { enter = max(enter, t) } else { leave = min(leave, t) }
            }
        }
        guard enter <= leave else { return nil }
        return (x0 + enter * dx, y0 + enter * dy, x0 + leave * dx, y0 + leave * dy)
    }

    /// Draws `plane` (row-major `planeHeight × planeWidth` values) as gray levels at (x, y), mapping
    /// `low…high` to black…white.
    public mutating func drawGray(_ plane: UnsafeBufferPointer<Float>, planeWidth: Int, planeHeight: Int,
                                  x: Int, y: Int, low: Float = 0, high: Float = 1) {
        let span = high > low ? high - low : 1
        for r in 0..<planeHeight {
            for col in 0..<planeWidth {
                let v = UInt8(max(0, min(255, ((plane[r * planeWidth + col] - low) / span * 255).rounded())))
                set(x + col, y + r, Color(v, v, v))
            }
        }
    }

    /// Draws the outline of the region where `mask > 0.5` (pixels inside with a neighbour outside) at (x, y).
    public mutating func drawContour(_ mask: UnsafeBufferPointer<Float>, planeWidth: Int, planeHeight: Int,
                                     x: Int, y: Int, _ c: Color) {
        func inside(_ r: Int, _ col: Int) -> Bool {
            r >= 0 && col >= 0 && r < planeHeight && col < planeWidth && mask[r * planeWidth + col] > 0.5
        }
        for r in 0..<planeHeight {
            for col in 0..<planeWidth where inside(r, col) {
                if !inside(r - 1, col) || !inside(r + 1, col) || !inside(r, col - 1) || !inside(r, col + 1) {
                    set(x + col, y + r, c)
                }
            }
        }
    }
}
