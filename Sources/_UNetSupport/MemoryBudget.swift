#if canImport(Glibc)
import Glibc
#endif

/// How much memory one call of the library may take, checked before the call allocates, so that a call
/// that would not fit returns an out-of-memory error instead of getting the host process killed.
///
/// The limit is the smallest of: `UNETSEG_MEMORY_LIMIT` when set (bytes, or with a suffix K, M, G or T
/// for powers of 1024: `8G`), else 3/4 of physical memory; the control group's `memory.max`; and the
/// address space left under `ulimit -v` (`RLIMIT_AS`). Estimates come from the callers (a model's
/// activations for a batch, a loader's batches in flight, a file's size).
public enum MemoryBudget {
    /// The environment variable that sets the limit.
    public static let environmentVariable = "UNETSEG_MEMORY_LIMIT"

    /// The limit for one call, in bytes, and what set it (for messages).
    public static func limit() -> (bytes: Int, source: String) {
        var best: (bytes: Int, source: String)
        if let text = getenv(environmentVariable).map({ String(cString: $0) }), let bytes = parseSize(text) {
            best = (bytes, "\(environmentVariable)=\(text)")
        } else {
            best = (physicalMemory / 4 * 3, "3/4 of the \(physicalMemory >> 20) MiB of physical memory")
        }
        if let group = controlGroupLimit, group < best.bytes {
            best = (group, "the control group's memory.max")
        }
        if let left = addressSpaceLeft(), left < best.bytes {
            best = (left, "the address space left under ulimit -v")
        }
        return best
    }

    /// Throws `.outOfMemory` when `bytes`, the estimated memory of `what`, exceed `limit()`; the message
    /// gives the estimate, the limit and what set it. Requests under 1 MiB are not checked (reading the
    /// limit reads small files itself).
    public static func require(_ bytes: Int, for what: String) throws(UnetsegError) {
        guard bytes >= 1 << 20 else { return }
        var (limit, source) = limit()
        if bytes > limit, BlockPool.shared.drain() > 0 { (limit, source) = self.limit() }  // idle blocks give way
        guard bytes > limit else { return }
        throw .outOfMemory("\(what) needs an estimated \(megabytes(bytes)) MiB, over the memory limit of "
            + "\(megabytes(limit)) MiB (\(source); set \(environmentVariable) to change it)")
    }

    /// `require(bytes, for: what)`, then checks that the system can map that many bytes now (a mapping is
    /// made and dropped, touching no page), so that a Swift array of that size can be created without
    /// trapping on a failed allocation.
    public static func reserve(_ bytes: Int, for what: String) throws(UnetsegError) {
        guard bytes >= 1 << 20 else { return }
        try require(bytes, for: what)
        var address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        if address == MAP_FAILED, BlockPool.shared.drain() > 0 {
            address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        }
        guard let address, address != MAP_FAILED else {
            throw .outOfMemory("\(what) needs \(megabytes(bytes)) MiB, which the system cannot provide now")
        }
        munmap(address, bytes)
    }

    /// `bytes` in MiB, rounded up.
    static func megabytes(_ bytes: Int) -> Int { bytes / (1 << 20) + (bytes % (1 << 20) > 0 ? 1 : 0) }

    /// "123", "64K", "512M", "8G", "1T" → bytes; nil for anything else.
    static func parseSize(_ text: String) -> Int? {
        var digits = Substring(text)
        var unit = 1
        if let last = digits.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4][String(last).uppercased()] {
            unit = 1 << (10 * power)
            digits = digits.dropLast()
        }
        guard let value = Int(digits), value > 0 else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: unit)
        return overflow ? Int.max : bytes
    }

    /// Physical memory in bytes.
    static let physicalMemory: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && size > 0 ? pages * size : Int.max
    }()

    /// The cgroup v2 `memory.max` of this process's group, if set.
    static let controlGroupLimit: Int? = {
        guard let text = try? FileSystem.readBytes("/sys/fs/cgroup/memory.max", maximumSize: 64) else {
            return nil
        }
        return Int(String(decoding: text, as: UTF8.self).filter { !$0.isWhitespace })
    }()

    /// Bytes of address space left under `RLIMIT_AS` (`ulimit -v`), or nil when it is unlimited.
    static func addressSpaceLeft() -> Int? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        let cap = Int(clamping: limit.rlim_cur)
        // /proc/self/statm: total program size in pages, first field.
        guard let text = try? FileSystem.readBytes("/proc/self/statm", maximumSize: 4096),
              let pages = Int(String(decoding: text.prefix { $0 != 0x20 }, as: UTF8.self))
        else { return cap }
        return max(0, cap - pages * sysconf(Int32(_SC_PAGESIZE)))
    }
}
