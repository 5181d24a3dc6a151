// JSON (RFC 8259) without Foundation: a value type, a strict parser and a serializer. Used for checkpoint
// (safetensors) headers, metrics files and split records.

/// A JSON value. Objects keep their members in the order they were written or parsed.
public enum JSONValue: Sendable, Equatable, CustomStringConvertible {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number; JSON has one number type, held here as a double.
    case number(Double)
    /// A string (any Unicode text).
    case string(String)
    /// An ordered list of values.
    case array([JSONValue])
    /// Members in order; keys are unique when the value comes from `parse`.
    case object([(key: String, value: JSONValue)])

    /// Deepest nesting of arrays and objects that `parse` accepts by default.
    public static let defaultMaximumDepth = 64

    /// Structural equality; objects compare member by member, in order.
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// The compact serialization.
    public var description: String { serialized(pretty: false) }
}

// MARK: - Accessors

extension JSONValue {
    /// The value of member `key` of an object; nil for a missing key or a value that is not an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// Element `index` of an array; nil when out of range or not an array.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// The text of a string value, else nil.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The number of a number value, else nil.
    public var doubleValue: Double? {
        if case .number(let d) = self { return d }
        return nil
    }

    /// The number of a number value that is a whole number representable as `Int`, else nil.
    public var intValue: Int? {
        guard case .number(let d) = self, d.rounded(.towardZero) == d,
              d >= -0x1p63, d < 0x1p63 else { return nil }
        return Int(d)
    }

    /// The flag of a boolean value, else nil.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements of an array value, else nil.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The members of an object value in order, else nil.
    public var objectValue: [(key: String, value: JSONValue)]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// Whether this is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral {
    /// `null`.
    public init(nilLiteral: ()) { self = .null }
    /// A boolean.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// A whole number.
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    /// A number.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// A string.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// An object whose members keep the literal's order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(elements.map { (key: $0.0, value: $0.1) })
    }
}

// MARK: - Parsing

extension JSONValue {
    /// Parses UTF-8 JSON text strictly (RFC 8259): one value, optional surrounding whitespace, no comments,
    /// no trailing commas, valid UTF-8, escapes including `\uXXXX` surrogate pairs, unique object keys,
    /// and at most `maximumDepth` nested arrays/objects. Throws `.format` with the byte offset of the
    /// problem. Runs in time linear in the input.
    public static func parse(_ bytes: some Collection<UInt8>,
                             maximumDepth: Int = defaultMaximumDepth) throws(UnetsegError) -> JSONValue {
        let contiguous = Array(bytes)
        return try contiguous.withUnsafeBufferPointer { (buffer) throws(UnetsegError) -> JSONValue in
            var parser = JSONParser(input: buffer, maximumDepth: maximumDepth)
            return try parser.parseDocument()
        }
    }

    /// Parses JSON text held in a string (see `parse(_:maximumDepth:)`).
    public static func parse(_ text: String, maximumDepth: Int = defaultMaximumDepth) throws(UnetsegError) -> JSONValue {
        try parse(Array(text.utf8), maximumDepth: maximumDepth)
    }
}

/// A recursive-descent parser over a byte buffer; `position` is the next unread byte.
private struct JSONParser {
    let input: UnsafeBufferPointer<UInt8>
    let maximumDepth: Int
    var position = 0
    var depth = 0
    /// Scratch for decoding strings with escapes, reused across strings.
    var scratch: [UInt8] = []

    init(input: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
        self.input = input
        self.maximumDepth = maximumDepth
    }

    func fail(_ problem: String, at offset: Int? = nil) -> UnetsegError {
        .format("invalid JSON: \(problem) at byte \(offset ?? position)")
    }

    var current: UInt8? { position < input.count ? input[position] : nil }

    mutating func skipWhitespace() {
        while let c = current, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { position += 1 }
    }

    mutating func parseDocument() throws(UnetsegError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard position == input.count else { throw fail("unexpected data after the value") }
        return value
    }

    mutating func parseValue() throws(UnetsegError) -> JSONValue {
        guard let c = current else { throw fail("unexpected end of input") }
        switch c {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw fail("unexpected character \(describe(c))")
        }
    }

    func describe(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(String(c, radix: 16))"
    }

    mutating func expectWord(_ word: StaticString) throws(UnetsegError) {
        let start = position
        let count = word.utf8CodeUnitCount
        guard input.count - position >= count,
              (0..<count).allSatisfy({ input[position + $0] == word.utf8Start[$0] }) else {
            throw fail("invalid literal, expected \(word)", at: start)
        }
        position += count
    }

    mutating func enterContainer() throws(UnetsegError) {
        depth += 1
        guard depth <= maximumDepth else { throw fail("nesting deeper than \(maximumDepth)") }
        position += 1
        skipWhitespace()
    }

    mutating func parseArray() throws(UnetsegError) -> JSONValue {
        try enterContainer()
        var elements: [JSONValue] = []
        if current == UInt8(ascii: "]") { position += 1; depth -= 1; return .array(elements) }
        while true {
            elements.append(try parseValue())
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1; skipWhitespace()
            case UInt8(ascii: "]"): position += 1; depth -= 1; return .array(elements)
            case nil: throw fail("unexpected end of input in an array")
            default: throw fail("expected ',' or ']' in an array")
            }
        }
    }

    mutating func parseObject() throws(UnetsegError) -> JSONValue {
        try enterContainer()
        var members: [(key: String, value: JSONValue)] = []
        var keys = Set<String>()
        if current == UInt8(ascii: "}") { position += 1; depth -= 1; return .object(members) }
        while true {
            let keyOffset = position
            guard current == UInt8(ascii: "\"") else {
                throw fail(current == nil ? "unexpected end of input in an object" : "expected a string key")
            }
            let key = try parseString()
            guard keys.insert(key).inserted else { throw fail("duplicate key \"\(key)\"", at: keyOffset) }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
            position += 1
            skipWhitespace()
            members.append((key: key, value: try parseValue()))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1; skipWhitespace()
            case UInt8(ascii: "}"): position += 1; depth -= 1; return .object(members)
            case nil: throw fail("unexpected end of input in an object")
            default: throw fail("expected ',' or '}' in an object")
            }
        }
    }

    /// Parses a string starting at its opening quote; validates UTF-8 and escapes.
    mutating func parseString() throws(UnetsegError) -> String {
        let start = position
        position += 1
        scratch.removeAll(keepingCapacity: true)
        while true {
            // Copy the run of plain bytes up to the next quote, backslash or control character.
            let runStart = position
            while let c = current, c != UInt8(ascii: "\""), c != UInt8(ascii: "\\"), c >= 0x20 { position += 1 }
            scratch.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<position]))
            guard let c = current else { throw fail("unterminated string", at: start) }
            if c == UInt8(ascii: "\"") {
                position += 1
                guard let text = String(validating: scratch, as: UTF8.self) else {
                    throw fail("string is not valid UTF-8", at: start)
                }
                return text
            }
            if c < 0x20 { throw fail("unescaped control character \(describe(c)) in a string") }
            try parseEscape()
        }
    }

    /// Decodes one escape sequence starting at its backslash into `scratch`.
    mutating func parseEscape() throws(UnetsegError) {
        let escapeStart = position
        position += 1
        guard let c = current else { throw fail("unterminated string", at: escapeStart) }
        position += 1
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(c)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try parseHex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard input.count - position >= 2, input[position] == UInt8(ascii: "\\"),
                      input[position + 1] == UInt8(ascii: "u") else {
                    throw fail("high surrogate without a following low surrogate", at: escapeStart)
                }
                position += 2
                let low = try parseHex4()
                guard (0xDC00..<0xE000).contains(low) else {
                    throw fail("high surrogate without a following low surrogate", at: escapeStart)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw fail("lone low surrogate", at: escapeStart)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw fail("invalid code point", at: escapeStart) }
            UTF8.encode(unicode) { scratch.append($0) }
        default:
            throw fail("invalid escape \\\(describe(c))", at: escapeStart)
        }
    }

    mutating func parseHex4() throws(UnetsegError) -> UInt32 {
        guard input.count - position >= 4 else { throw fail("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = input[position]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw fail("invalid hex digit \(describe(c)) in a \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    mutating func skipDigits() -> Int {
        let start = position
        while let c = current, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { position += 1 }
        return position - start
    }

    /// Parses `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`; out-of-range magnitudes become ±infinity
    /// or 0 as in IEEE rounding, and are refused when infinite.
    mutating func parseNumber() throws(UnetsegError) -> Double {
        let start = position
        if current == UInt8(ascii: "-") { position += 1 }
        if current == UInt8(ascii: "0") {
            position += 1
        } else if skipDigits() == 0 {
            throw fail("invalid number", at: start)
        }
        if current == UInt8(ascii: ".") {
            position += 1
            guard skipDigits() > 0 else { throw fail("expected digits after '.'", at: start) }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard skipDigits() > 0 else { throw fail("expected digits in the exponent", at: start) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: input[start..<position]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw fail("number out of range", at: start) }
        return value
    }
}

// MARK: - Serialization

extension JSONValue {
    /// JSON text for this value. Compact without spaces, or `pretty` with two-space indentation and one
    /// member per line. Whole numbers below 2^53 print without a fraction ("3", not "3.0"); other numbers
    /// print in the shortest form that parses back to the same double. NaN and infinities, which JSON
    /// cannot hold, print as `null`.
    public func serialized(pretty: Bool = false) -> String {
        var out = ""
        write(to: &out, pretty: pretty, indent: 0)
        return out
    }

    private func write(to out: inout String, pretty: Bool, indent: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let d): out += JSONValue.format(d)
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let elements):
            writeContainer(elements, open: "[", close: "]", to: &out, pretty: pretty, indent: indent) {
                $0.write(to: &$1, pretty: pretty, indent: indent + 1)
            }
        case .object(let members):
            writeContainer(members, open: "{", close: "}", to: &out, pretty: pretty, indent: indent) {
                JSONValue.writeString($0.key, to: &$1)
                $1 += pretty ? ": " : ":"
                $0.value.write(to: &$1, pretty: pretty, indent: indent + 1)
            }
        }
    }

    private func writeContainer<Element>(_ items: [Element], open: String, close: String, to out: inout String,
                                         pretty: Bool, indent: Int,
                                         writeItem: (Element, inout String) -> Void) {
        out += open
        guard !items.isEmpty else { out += close; return }
        for (i, item) in items.enumerated() {
            if i > 0 { out += "," }
            if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
            writeItem(item, &out)
        }
        if pretty { out += "\n" + String(repeating: "  ", count: indent) }
        out += close
    }

    /// A number as JSON text that round-trips.
    static func format(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == 0 { return d.sign == .minus ? "-0" : "0" }
        if d.rounded(.towardZero) == d && abs(d) < 0x1p53 { return String(Int64(d)) }
        let text = d.description   // shortest round-tripping form, e.g. "0.1", "1e-05", "1.5e+300"
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    /// A string as a JSON string literal: quotes, backslashes and control characters escaped.
    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        var plainStart = s.unicodeScalars.startIndex
        var index = plainStart
        let scalars = s.unicodeScalars
        while index != scalars.endIndex {
            let c = scalars[index]
            let escape: String?
            switch c {
            case "\"": escape = "\\\""
            case "\\": escape = "\\\\"
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            case "\u{08}": escape = "\\b"
            case "\u{0C}": escape = "\\f"
            default:
                if c.value < 0x20 {
                    let hex = String(c.value, radix: 16)
                    escape = "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    escape = nil
                }
            }
            if let escape {
                out.unicodeScalars.append(contentsOf: scalars[plainStart..<index])
                out += escape
                plainStart = scalars.index(after: index)
            }
            index = scalars.index(after: index)
        }
        out.unicodeScalars.append(contentsOf: scalars[plainStart..<index])
        out += "\""
    }
}
