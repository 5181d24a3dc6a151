import CCairo
import _UNetSupport

/// A picture drawn with Cairo on an RGB image surface: anti-aliased lines, text in a sans-serif face, gray
/// images and mask outlines, saved as PNG. Coordinates are in pixels from the top-left corner.
public final class Drawing {
    /// An RGB colour, components in 0...1.
    public struct Color: Sendable, Equatable {
        public var r: Double, g: Double, b: Double
        /// A colour from 8-bit components.
        public init(_ r: Int, _ g: Int, _ b: Int) { self.r = Double(r) / 255; self.g = Double(g) / 255; self.b = Double(b) / 255 }
        public static let black = Color(0, 0, 0)
        public static let white = Color(255, 255, 255)
        public static let red = Color(235, 50, 40)
        public static let green = Color(40, 210, 70)
        public static let blue = Color(40, 100, 220)
        public static let orange = Color(240, 140, 20)
        public static let gray = Color(140, 140, 140)
        public static let lightGray = Color(225, 225, 225)
        /// The bars of the per-volume Dice chart.
        public static let skyBlue = Color(135, 190, 235)
    }

    /// Horizontal placement of text relative to its x coordinate.
    public enum Alignment: Sendable { case left, center, right }

    /// Largest width or height of a drawing, in pixels.
    public static let maximumSide = 16384

    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    let surface: OpaquePointer
    let context: OpaquePointer

    /// A `width × height` drawing filled with `background`. Throws `.invalidArgument` for a side outside
    /// 1...`maximumSide` and `.internal` when Cairo cannot create the surface or its context.
    public init(width: Int, height: Int, background: Color = .white) throws(UnetsegError) {
        try checkArgument((1...Self.maximumSide).contains(width) && (1...Self.maximumSide).contains(height),
                          "a picture must be 1 to \(Self.maximumSide) pixels wide and high, not \(width)×\(height)")
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height)) else {
            throw .internal("cannot create a \(width)×\(height) picture")
        }
        let surfaceStatus = cairo_surface_status(surface)
        guard surfaceStatus == CAIRO_STATUS_SUCCESS else {
            cairo_surface_destroy(surface)
            throw .internal("cannot create a \(width)×\(height) picture: \(Self.describe(surfaceStatus))")
        }
        guard let context = cairo_create(surface) else {
            cairo_surface_destroy(surface)
            throw .internal("cannot draw on a \(width)×\(height) picture")
        }
        let contextStatus = cairo_status(context)
        guard contextStatus == CAIRO_STATUS_SUCCESS else {
            cairo_destroy(context)
            cairo_surface_destroy(surface)
            throw .internal("cannot draw on a \(width)×\(height) picture: \(Self.describe(contextStatus))")
        }
        self.width = width; self.height = height; self.surface = surface; self.context = context
        cairo_select_font_face(context, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
        fill(x: 0, y: 0, width: Double(width), height: Double(height), background)
    }

    deinit {
        cairo_destroy(context)
        cairo_surface_destroy(surface)
    }

    /// Cairo's description of `status`.
    static func describe(_ status: cairo_status_t) -> String {
        cairo_status_to_string(status).map { String(cString: $0) } ?? "cairo status \(status.rawValue)"
    }

    func setColor(_ c: Color) { cairo_set_source_rgb(context, c.r, c.g, c.b) }

    /// Fills a rectangle.
    public func fill(x: Double, y: Double, width w: Double, height h: Double, _ c: Color) {
        guard let (x0, y0, x1, y1) = Self.clip(x, y, x + w, y + h, to: bounds) else { return }
        setColor(c)
        cairo_rectangle(context, x0, y0, x1 - x0, y1 - y0)
        cairo_fill(context)
    }

    /// A box around the drawing wide enough for any stroke: coordinates are clipped to it.
    var bounds: (minX: Double, minY: Double, maxX: Double, maxY: Double) {
        (-64, -64, Double(width) + 64, Double(height) + 64)
    }

    /// Draws a line from (x0, y0) to (x1, y1), `thickness` pixels wide, dashed when `dash` is given (on and
    /// off lengths). Only the part near the drawing is drawn; a line with a non-finite end is not drawn.
    public func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ c: Color, thickness: Double = 1,
                     dash: Double? = nil) {
        guard let (a, b, p, q) = Self.clip(x0, y0, x1, y1, to: bounds) else { return }
        setColor(c)
        cairo_set_line_width(context, thickness)
        if let dash {
            var lengths = [dash, dash]
            cairo_set_dash(context, &lengths, 2, 0)
        }
        cairo_move_to(context, a, b)
        cairo_line_to(context, p, q)
        cairo_stroke(context)
        cairo_set_dash(context, nil, 0, 0)
    }

    /// The part of the segment (x0, y0)–(x1, y1) inside the rectangle `box` (Liang–Barsky), or nil when
    /// none is or an end is not finite. Keeps Cairo's fixed-point coordinates in range whatever the data.
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

    /// Writes `text` with its baseline at `y`, placed at `x` by `alignment`, `size` pixels high, in a
    /// sans-serif face (bold when `bold`).
    public func text(_ text: String, x: Double, y: Double, size: Double = 14, _ c: Color = .black,
                     alignment: Alignment = .left, bold: Bool = false) {
        guard x.isFinite, y.isFinite, abs(x) < 1e5, abs(y) < 1e5 else { return }
        cairo_select_font_face(context, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                               bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(context, size)
        let shift: Double
        switch alignment {
        case .left: shift = 0
        case .center: shift = textWidth(text) / 2
        case .right: shift = textWidth(text)
        }
        setColor(c)
        cairo_move_to(context, x - shift, y)
        cairo_show_text(context, text)
        cairo_new_path(context)
    }

    /// The advance width of `text` in the sans-serif face at `size` pixels.
    func textWidth(_ text: String, size: Double) -> Double {
        cairo_select_font_face(context, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(context, size)
        return textWidth(text)
    }

    /// The advance width of `text` in the current font, in pixels.
    func textWidth(_ text: String) -> Double {
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, text, &extents)
        return extents.x_advance.isFinite ? extents.x_advance : 0
    }

    /// Draws `plane` (row-major `planeHeight × planeWidth` values) as gray levels with its top-left corner at
    /// (x, y), each value a `scale`×`scale` square, mapping `low…high` to black…white (non-finite values black).
    public func gray(_ plane: UnsafeBufferPointer<Float>, planeWidth: Int, planeHeight: Int, x: Double, y: Double,
                     scale: Double = 1, low: Float = 0, high: Float = 1) throws(UnetsegError) {
        guard (1...Self.maximumSide).contains(planeWidth), (1...Self.maximumSide).contains(planeHeight),
              plane.count >= planeWidth * planeHeight else { return }
        guard let image = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(planeWidth), Int32(planeHeight)) else {
            throw .internal("cannot create a \(planeWidth)×\(planeHeight) image")
        }
        defer { cairo_surface_destroy(image) }
        let status = cairo_surface_status(image)
        guard status == CAIRO_STATUS_SUCCESS, let data = cairo_image_surface_get_data(image) else {
            throw .internal("cannot create a \(planeWidth)×\(planeHeight) image: \(Self.describe(status))")
        }
        cairo_surface_flush(image)
        let stride = Int(cairo_image_surface_get_stride(image)), span = high > low ? high - low : 1
        for r in 0..<planeHeight {
            let row = UnsafeMutableRawPointer(data + r * stride).assumingMemoryBound(to: UInt32.self)
            for col in 0..<planeWidth {
                let value = (plane[r * planeWidth + col] - low) / span * 255
                let v = value.isFinite ? UInt32(max(0, min(255, value.rounded()))) : 0
                row[col] = v << 16 | v << 8 | v
            }
        }
        cairo_surface_mark_dirty(image)
        cairo_save(context)
        cairo_translate(context, x, y)
        cairo_scale(context, scale, scale)
        cairo_set_source_surface(context, image, 0, 0)
        cairo_pattern_set_filter(cairo_get_source(context), CAIRO_FILTER_NEAREST)
        cairo_paint(context)
        cairo_restore(context)
    }

    /// Outlines the region where `mask > 0.5` (drawn at (x, y), each mask pixel `scale` pixels wide): a line
    /// `thickness` wide along every pixel edge between inside and outside.
    public func outline(_ mask: UnsafeBufferPointer<Float>, planeWidth: Int, planeHeight: Int, x: Double, y: Double,
                        scale: Double = 1, _ c: Color, thickness: Double = 1.5) {
        guard mask.count >= planeWidth * planeHeight else { return }
        func inside(_ r: Int, _ col: Int) -> Bool {
            r >= 0 && col >= 0 && r < planeHeight && col < planeWidth && mask[r * planeWidth + col] > 0.5
        }
        func edge(_ c0: Int, _ r0: Int, _ c1: Int, _ r1: Int) {
            cairo_move_to(context, x + Double(c0) * scale, y + Double(r0) * scale)
            cairo_line_to(context, x + Double(c1) * scale, y + Double(r1) * scale)
        }
        for r in 0..<planeHeight {
            for col in 0..<planeWidth where inside(r, col) {
                if !inside(r - 1, col) { edge(col, r, col + 1, r) }
                if !inside(r + 1, col) { edge(col, r + 1, col + 1, r + 1) }
                if !inside(r, col - 1) { edge(col, r, col, r + 1) }
                if !inside(r, col + 1) { edge(col + 1, r, col + 1, r + 1) }
            }
        }
        setColor(c)
        cairo_set_line_width(context, thickness)
        cairo_set_line_cap(context, CAIRO_LINE_CAP_SQUARE)
        cairo_stroke(context)
        cairo_set_line_cap(context, CAIRO_LINE_CAP_BUTT)
    }

    /// The drawing as a PNG file's bytes (Cairo's encoder, into memory); `path` is for messages. Throws
    /// `.internal` naming `path` when drawing or encoding failed.
    public func pngBytes(for path: String) throws(UnetsegError) -> [UInt8] {
        let drawingStatus = cairo_status(context)
        guard drawingStatus == CAIRO_STATUS_SUCCESS else {
            throw .internal("cannot draw \(path): \(Self.describe(drawingStatus))")
        }
        cairo_surface_flush(surface)
        let sink = ByteSink()
        let status = cairo_surface_write_to_png_stream(surface, { closure, data, length in
            guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
            Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue().bytes
                .append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
            return CAIRO_STATUS_SUCCESS
        }, Unmanaged.passUnretained(sink).toOpaque())
        guard status == CAIRO_STATUS_SUCCESS else {
            throw .internal("cannot write \(path): cannot encode PNG: \(Self.describe(status))")
        }
        return sink.bytes
    }

    /// Writes the drawing as PNG to `path`: encoded in memory, then written atomically
    /// (`FileSystem.writeAtomically`), so concurrent writers of one path each leave a whole file.
    public func write(to path: String) throws(UnetsegError) {
        try FileSystem.writeAtomically(try pngBytes(for: path), to: path)
    }
}

/// The bytes Cairo's PNG encoder hands over, gathered in memory.
private final class ByteSink {
    var bytes: [UInt8] = []
}
