import UNetTensor
import _UNetSupport

/// The JSON parser on arbitrary bytes: it returns a value or throws, and a value it returns survives
/// serialising and parsing again unchanged.
enum JSONFuzzing {
    static func run(_ input: [UInt8]) throws(FuzzViolation) {
        let value: JSONValue
        do { value = try JSONValue.parse(input) } catch { return }
        for pretty in [false, true] {
            let text = value.serialized(pretty: pretty)
            let again: JSONValue
            do { again = try JSONValue.parse(text) } catch {
                throw FuzzViolation("JSON the parser accepted serialises to text it rejects (\(error.message)): \(text)")
            }
            guard again == value else { throw FuzzViolation("JSON changes when serialised and parsed again: \(text)") }
        }
    }
}
