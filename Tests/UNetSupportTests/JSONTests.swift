import Testing
import UNetTensor
import _UNetSupport

/// The strict JSON parser (RFC 8259) and the serializer: values, errors with offsets, limits, round trips.
@Suite struct JSONTests {
    func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }

    func parseError(_ bytes: [UInt8]) -> UnetsegError? {
        do throws(UnetsegError) {
            _ = try JSONValue.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    func parseError(_ text: String) -> UnetsegError? { parseError(Array(text.utf8)) }

    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(#" { "n": null, "t": true, "f": false, "i": -12, "d": 1.5e3, "s": "x", "a": [1, [], {}], "o": {"k": "v"} } "#)
        #expect(value["n"] == .null && value["n"]?.isNull == true)
        #expect(value["t"]?.boolValue == true && value["f"]?.boolValue == false)
        #expect(value["i"]?.intValue == -12)
        #expect(value["d"]?.doubleValue == 1500)
        #expect(value["s"]?.stringValue == "x")
        #expect(value["a"] == [1, [], [:]])
        #expect(value["a"]?[0]?.intValue == 1 && value["a"]?[3] == nil)
        #expect(value["o"]?["k"]?.stringValue == "v")
        #expect(value["missing"] == nil && value["s"]?["k"] == nil)
        #expect(value.objectValue?.map(\.key) == ["n", "t", "f", "i", "d", "s", "a", "o"], "key order kept")
    }

    @Test func parsesNumbersExactly() throws {
        let cases: [(String, Double)] = [
            ("0", 0), ("-0", -0.0), ("7", 7), ("-12", -12), ("0.1", 0.1), ("1e3", 1000), ("1E+3", 1000),
            ("2.5e-3", 0.0025), ("123456789012345678", 123456789012345680), ("1.7976931348623157e308", .greatestFiniteMagnitude),
            ("4.9406564584124654e-324", .leastNonzeroMagnitude), ("1e-400", 0),
        ]
        for (text, expected) in cases {
            let d = try #require(try parse(text).doubleValue, "\(text)")
            #expect(d == expected && d.sign == expected.sign, "\(text) → \(d)")
        }
    }

    @Test func decodesEscapesAndUnicode() throws {
        let value = try parse(#""a\"b\\c\/d\b\f\n\r\t\u0041\u00e9\u20AC\ud83d\ude00 é😀""#)
        #expect(value.stringValue == "a\"b\\c/d\u{8}\u{C}\n\r\tAé€😀 é😀")
        #expect(try parse(#""\u0000""#).stringValue == "\u{0}")
        #expect(try parse(#""""#).stringValue == "")
    }

    @Test func intValueOnlyForWholeNumbers() {
        #expect(JSONValue.number(3).intValue == 3)
        #expect(JSONValue.number(-3).intValue == -3)
        #expect(JSONValue.number(2.5).intValue == nil)
        #expect(JSONValue.number(1e300).intValue == nil)
        #expect(JSONValue.number(.nan).intValue == nil)
        #expect(JSONValue.number(0x1p63).intValue == nil)
        #expect(JSONValue.string("3").intValue == nil)
        #expect(JSONValue.string("3").doubleValue == nil && JSONValue.number(3).stringValue == nil)
        #expect(JSONValue.null.arrayValue == nil && JSONValue.null.objectValue == nil && JSONValue.null.boolValue == nil)
    }

    static let invalidDocuments = [
        "", " ", "01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "NaN", "Infinity", "-Infinity", "1e400",
        "[1,]", "[,1]", "[1 2]", "[", "]", "{", "}", #"{"a":1,}"#, #"{"a" 1}"#, #"{"a":}"#, "{a:1}", #"{1:2}"#,
        "'x'", #""abc"#, #""\x""#, #""\u12""#, #""\u12G4""#, #""\ud800""#, #""\udc00""#, #""\ud800\u0041""#,
        #""\ud800x""#, "\"tab\there\"", "\"line\nbreak\"", "tru", "nul", "falsey", "[1] x", "{} {}",
        "/* c */ 1", "[1] // c", #"{"a":1,"a":2}"#, "\u{FEFF}1",
    ]

    @Test(arguments: invalidDocuments)
    func rejectsInvalidDocument(_ text: String) throws {
        let error = try #require(parseError(text), "accepted \(text.debugDescription)")
        guard case .format(let message) = error else { Issue.record("wrong kind: \(error)"); return }
        #expect(message.contains("at byte"), "\(message)")
    }

    @Test func rejectsInvalidUTF8() throws {
        let quote = UInt8(ascii: "\"")
        for bad: [UInt8] in [[0xFF], [0xC0, 0xAF], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80]] {
            #expect(parseError([quote] + bad + [quote]) != nil, "\(bad)")
        }
        #expect(parseError([0xFF]) != nil)
    }

    @Test func errorsGiveTheByteOffset() {
        #expect(parseError("[1, x]")?.message == "invalid JSON: unexpected character 'x' at byte 4")
        #expect(parseError(#"{"a": 1, "a": 2}"#)?.message == #"invalid JSON: duplicate key "a" at byte 9"#)
        #expect(parseError("[1] 2")?.message == "invalid JSON: unexpected data after the value at byte 4")
        #expect(parseError("\"ab")?.message == "invalid JSON: unterminated string at byte 0")
    }

    @Test func limitsNesting() throws {
        let deep = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try parse(deep).arrayValue?.count == 1)
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(parseError(tooDeep)?.message.contains("nesting deeper than 64") == true)
        #expect(parseError(String(repeating: "[", count: 200_000)) != nil)
        #expect(parseError(String(repeating: #"{"a":"#, count: 100_000)) != nil)
        #expect(throws: UnetsegError.self) { try JSONValue.parse("[[1]]", maximumDepth: 1) }
    }

    @Test func handlesLargeInputs() throws {
        let count = 200_000
        let array = try parse("[" + Array(repeating: "1.5", count: count).joined(separator: ",") + "]")
        #expect(array.arrayValue?.count == count)
        let longString = String(repeating: "ab\\n", count: count)
        #expect(try parse("\"" + longString + "\"").stringValue?.utf8.count == 3 * count)
        let longNumber = "0." + String(repeating: "3", count: count)
        #expect(try parse(longNumber).doubleValue == 0.3333333333333333)
        let keys = (0..<20_000).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        #expect(try parse("{" + keys + "}")["k19999"]?.intValue == 19_999)
    }

    @Test func serializesCompactAndPretty() {
        let value: JSONValue = ["name": "unet", "sizes": [1, 2.5, -3], "empty": [], "none": [:], "ok": true, "x": nil]
        #expect(value.serialized(pretty: false) == #"{"name":"unet","sizes":[1,2.5,-3],"empty":[],"none":{},"ok":true,"x":null}"#)
        #expect(value.serialized(pretty: true) == """
            {
              "name": "unet",
              "sizes": [
                1,
                2.5,
                -3
              ],
              "empty": [],
              "none": {},
              "ok": true,
              "x": null
            }
            """)
        #expect(value.description == value.serialized(pretty: false))
    }

    @Test func printsNumbersThatRoundTrip() throws {
        let expected: [(Double, String)] = [
            (3, "3"), (-7, "-7"), (0, "0"), (-0.0, "-0"), (0.1, "0.1"), (1e-5, "1e-05"), (2.5, "2.5"),
            (1e15, "1000000000000000"), (0x1p53, "9007199254740992"), (1e20, "1e+20"), (.nan, "null"), (.infinity, "null"),
        ]
        for (d, text) in expected { #expect(JSONValue.number(d).serialized() == text, "\(d)") }
        for d in [0.1, 1.0 / 3, 1e-300, .leastNonzeroMagnitude, 1.7976931348623157e308, -123456.789, 0x1p53 + 2, 1e100, Double(Float(0.3))] {
            let parsed = try #require(try parse(JSONValue.number(d).serialized()).doubleValue)
            #expect(parsed == d, "\(d)")
        }
    }

    @Test func escapesStrings() throws {
        let text = "q\"b\\s/n\nr\rt\tb\u{8}f\u{C}c\u{1}\u{1F}é😀\u{7F}"
        let json = JSONValue.string(text).serialized()
        #expect(json == #""q\"b\\s/n\nr\rt\tb\bf\fc\u0001\u001fé😀"# + "\u{7F}\"")
        #expect(try parse(json).stringValue == text)
    }

    /// Random documents survive serialize → parse, compact and pretty.
    @Test func randomValuesRoundTrip() throws {
        var generator = RandomGenerator(seed: 17)
        for _ in 0..<200 {
            let value = randomValue(depth: 0, generator: &generator)
            #expect(try parse(value.serialized(pretty: false)) == value)
            #expect(try parse(value.serialized(pretty: true)) == value)
        }
    }

    /// Corrupted documents either parse or throw; whatever parses serializes back to an equal value.
    @Test func corruptedDocumentsNeverCrash() throws {
        var generator = RandomGenerator(seed: 23)
        let alphabet = Array(#"{}[]",:\u0123456789.eE+-tfnrl ab"#.utf8) + [0x00, 0x0A, 0xC3, 0xA9, 0xFF, 0xED]
        var parsedCount = 0
        for _ in 0..<2_000 {
            var bytes = Array(randomValue(depth: 0, generator: &generator).serialized(pretty: generator.next() % 2 == 0).utf8)
            for _ in 0..<(1 + Int(generator.next() % 3)) {
                let position = Int(generator.next() % UInt64(bytes.count + 1))
                let byte = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                switch generator.next() % 3 {
                case 0 where position < bytes.count: bytes[position] = byte
                case 1 where position < bytes.count: bytes.remove(at: position)
                default: bytes.insert(byte, at: position)
                }
            }
            if let value = try? JSONValue.parse(bytes) {
                parsedCount += 1
                #expect(try parse(value.serialized()) == value)
            }
        }
        #expect(parsedCount > 0 && parsedCount < 2_000)
    }

    func randomValue(depth: Int, generator: inout RandomGenerator) -> JSONValue {
        let kind = generator.next() % (depth < 4 ? 8 : 5)
        switch kind {
        case 0: return .null
        case 1: return .bool(generator.next() % 2 == 0)
        case 2: return .number(Double(Int64(bitPattern: generator.next()) >> 40))
        case 3:
            let bits = generator.next()
            let d = Double(bitPattern: bits)
            return .number(d.isFinite ? d : Double(bits % 1000) / 7)
        case 4: return .string(randomString(&generator))
        case 5, 6:
            return .array((0..<Int(generator.next() % 5)).map { _ in randomValue(depth: depth + 1, generator: &generator) })
        default:
            var members: [(key: String, value: JSONValue)] = []
            for i in 0..<Int(generator.next() % 5) {
                members.append((key: randomString(&generator) + "\(i)", value: randomValue(depth: depth + 1, generator: &generator)))
            }
            return .object(members)
        }
    }

    func randomString(_ generator: inout RandomGenerator) -> String {
        let pieces = ["a", "Z", " ", "\"", "\\", "/", "\n", "\u{1}", "é", "€", "😀", "\u{7F}", "\u{2028}"]
        return (0..<Int(generator.next() % 6)).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }.joined()
    }
}
