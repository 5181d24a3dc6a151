import UNetData
import _UNetSupport

/// A fingerprint of every file below a folder, to show that an operation left it untouched.
public enum FileTreeDigest {
    /// Each file below `folder` (links to folders followed, as `FileSystem.walk`), by path, with the
    /// 64-bit FNV-1a hash of its bytes.
    public static func of(_ folder: String) throws -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for file in try FileSystem.walk(folder) {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in try FileSystem.readBytes(file) { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            result[file] = hash
        }
        return result
    }
}
